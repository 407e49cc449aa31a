#!/usr/bin/env bash
# Realtime benchmark: realtime-service (release) vs a bare socketioxide server
# vs a stock Node socket.io server, same load, same box, one run.
#
#   cargo build --release -p realtime-service --bin realtime-service --example bare_socketioxide
#   cargo build -p session-store -p auth-service     # setup only (debug is fine)
#   npm ci --prefix e2e && e2e/bench/run.sh > results.jsonl
#
# Per server (one process for all of it): idle sockets ramped up to each of
# IDLE_COUNTS in turn (RSS and connect rate at each count), then all of them
# disconnected at once and RSS sampled SETTLE_SAMPLES seconds after that wave;
# then for each room size of FANOUT_MEMBERS, one set of sockets joins the room
# and measures fan-out saturated and at a fixed rate.
#
# Env: IDLE_COUNTS (default "10000 19000", ascending, each under 19,000 per
#        server: the open-file cap is 20,000 per process),
#      FANOUT_MEMBERS ("1000 10000"), FANOUT_SECONDS (10 per measurement),
#      SETTLE (seconds to wait after a disconnect wave, default 60),
#      SETTLE_SAMPLES (RSS samples, seconds after the wave; default "$SETTLE"),
#      HOLD (seconds idle sockets are held before RSS is read, default 5),
#      FIXED_RATE (messages/s per sender, 4 senders, for the latency run; default 20),
#      OFFERED (deliveries/s offered in the latency run, whatever the room size;
#        overrides FIXED_RATE: rate per sender = OFFERED / members / 4),
#      SERVERS ("realtime bare node"),
#      STORE_PORT (15051) AUTH_PORT (18001) REALTIME_PORT (18003) BARE_PORT (18013)
#        NODE_PORT (18023), DB_NAME (nexus_bench, created by session-store if missing),
#      BIN_DIR (release binaries; default ${CARGO_TARGET_DIR:-target}/release),
#      BACKEND_BIN_DIR (session-store, auth-service; default ${CARGO_TARGET_DIR:-target}/debug).
# Output: one JSON object per line on stdout (test idle / disconnect / fanout).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E2E=$ROOT/e2e
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
REL=${BIN_DIR:-$TARGET/release}
DBG=${BACKEND_BIN_DIR:-$TARGET/debug}
IDLE_COUNTS=${IDLE_COUNTS:-"10000 19000"}
FANOUT_MEMBERS=${FANOUT_MEMBERS:-"1000 10000"}
FANOUT_SECONDS=${FANOUT_SECONDS:-10}
SETTLE=${SETTLE:-60}
SETTLE_SAMPLES=${SETTLE_SAMPLES:-$SETTLE}
HOLD=${HOLD:-5}
FIXED_RATE=${FIXED_RATE:-20} # messages/s per sender (4 senders) for the latency run
OFFERED=${OFFERED:-}
STORE_PORT=${STORE_PORT:-15051}
AUTH_PORT=${AUTH_PORT:-18001}
REALTIME_PORT=${REALTIME_PORT:-18003}
BARE_PORT=${BARE_PORT:-18013}
NODE_PORT=${NODE_PORT:-18023}
DB_NAME=${DB_NAME:-nexus_bench}
WAIT_LIMIT=${WAIT_LIMIT:-300} # seconds any one wait for load processes may take

PIDS=()
TMP=$(mktemp -d)
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap '' PIPE # a load process that died must fail a write to its fifo, not kill this script
log() { echo "$*" >&2; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
json() { node -e "const o=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(o$1)"; }
wait_http() { for _ in $(seq 1 150); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; log "not up: $1"; return 1; }
wait_tcp() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; log "not up: $1"; return 1; }
# wait_lines FILE PATTERN COUNT PID...: until FILE has COUNT lines matching
# PATTERN; fails if WAIT_LIMIT passes or every given process has exited.
wait_lines() {
  local file=$1 pattern=$2 count=$3 deadline=$((SECONDS + WAIT_LIMIT))
  shift 3
  while (($(grep -c "$pattern" "$file" || true) < count)); do
    if ((SECONDS > deadline)); then log "timed out waiting for $pattern in $file"; return 1; fi
    local alive=0 p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    if ((alive == 0)); then log "load process exited early: $(cat "$file")"; return 1; fi
    sleep 0.3
  done
}

export RUST_LOG=warn
ulimit -n 20000

# --- the backend our service needs (session-store, auth-service) ----------
SECRET=bench-supabase-secret-0123456789-0123456789
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB_NAME SESSION_STORE_LISTEN=127.0.0.1:$STORE_PORT \
  SESSION_STORE_METRICS_LISTEN=off "$DBG/session-store" &
PIDS+=($!)
SUPABASE_JWT_SECRET=$SECRET AUTH_LISTEN=127.0.0.1:$AUTH_PORT SESSION_STORE_URL=http://127.0.0.1:$STORE_PORT \
  COOKIE_SECURE=false SESSION_EVENTS_EXCHANGE=bench.sessions "$DBG/auth-service" &
PIDS+=($!)
wait_tcp "$STORE_PORT"
wait_http "http://127.0.0.1:$AUTH_PORT/healthz"
SUPA=$(SUPABASE_JWT_SECRET=$SECRET "$DBG/auth-service" dev-token --name Bench)
TOKEN=$(curl -fsS -X POST -H "Authorization: Bearer $SUPA" -H "Origin: http://localhost:5173" \
  "http://127.0.0.1:$AUTH_PORT/api/auth/session/bridge" | json .access_token)

start_server() { # name -> sets SPID, SURL
  case $1 in
    realtime)
      REALTIME_LISTEN=127.0.0.1:$REALTIME_PORT SESSION_STORE_URL=http://127.0.0.1:$STORE_PORT \
        AUTH_JWKS_URL=http://127.0.0.1:$AUTH_PORT/api/auth/.well-known/jwks.json \
        SUPABASE_JWT_SECRET=$SECRET SESSION_EVENTS_EXCHANGE=bench.sessions ROOMS_EXCHANGE=bench.rooms \
        REALTIME_CONNECTIONS_PER_IP=100000 REALTIME_EVENTS_PER_SECOND=100000 REALTIME_EVENT_BURST=100000 \
        REALTIME_SOCKETS_PER_USER=100000 REALTIME_CONNECTS_PER_SECOND_PER_IP=100000 REALTIME_CONNECT_BURST=100000 \
        REALTIME_PENDING_HANDSHAKES_PER_IP=100000 \
        DARKROOM_ALIAS_KEY=bench-alias-key-0123456789abcdef \
        "$REL/realtime-service" &
      SPID=$!; SURL=http://127.0.0.1:$REALTIME_PORT
      PIDS+=("$SPID")
      wait_http "$SURL/readyz" ;;
    bare)
      BARE_LISTEN=127.0.0.1:$BARE_PORT "$REL/examples/bare_socketioxide" &
      SPID=$!; SURL=http://127.0.0.1:$BARE_PORT
      PIDS+=("$SPID")
      wait_tcp "$BARE_PORT" ;;
    node)
      PORT=$NODE_PORT node "$E2E/bench/node-server.mjs" >/dev/null &
      SPID=$!; SURL=http://127.0.0.1:$NODE_PORT
      PIDS+=("$SPID")
      wait_tcp "$NODE_PORT" ;;
    *) log "unknown server $1"; return 1 ;;
  esac
  sleep 2
}

stop_server() {
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
}

# Idle sockets ramped up to each count of IDLE_COUNTS (two load processes per
# step, each on two source addresses), then one disconnect wave of all of them.
idle_ramp() { # server
  local server=$1 before have=0 n step=0 fds=() loads=() outs=()
  before=$(rss_kb "$SPID")
  for n in $IDLE_COUNTS; do
    local delta=$((n - have)) half fifo1 fifo2 out1 out2 fd1 fd2 l1 l2
    half=$((delta / 2))
    step=$((step + 1))
    fifo1=$TMP/$server.idle$step.a.in; fifo2=$TMP/$server.idle$step.b.in
    out1=$TMP/$server.idle$step.a.out; out2=$TMP/$server.idle$step.b.out
    rm -f "$fifo1" "$fifo2"; mkfifo "$fifo1" "$fifo2"
    : >"$out1"; : >"$out2"
    URL=$SURL TOKEN=$TOKEN MODE=idle N=$half LOCAL_ADDRS=127.0.0.1,127.0.0.2 \
      node "$E2E/bench/load.mjs" <"$fifo1" >"$out1" &
    l1=$!
    URL=$SURL TOKEN=$TOKEN MODE=idle N=$((delta - half)) LOCAL_ADDRS=127.0.0.3,127.0.0.4 \
      node "$E2E/bench/load.mjs" <"$fifo2" >"$out2" &
    l2=$!
    PIDS+=("$l1" "$l2"); loads+=("$l1" "$l2"); outs+=("$out1" "$out2")
    exec {fd1}>"$fifo1" {fd2}>"$fifo2"
    fds+=("$fd1" "$fd2")
    wait_lines "$out1" ready 1 "$l1"
    wait_lines "$out2" ready 1 "$l2"
    sleep "$HOLD"
    local during
    during=$(rss_kb "$SPID")
    local kb
    kb=$(awk -v a="$during" -v b="$before" -v n="$n" 'BEGIN{printf "%.2f", (a-b)/n}')
    echo "{\"server\":\"$server\",\"test\":\"idle\",\"sockets\":$n,\"step_sockets\":$delta,\"rss_before_kb\":$before,\"rss_kb\":$during,\"kb_per_socket\":$kb,\"load\":[$(head -1 "$out1"),$(head -1 "$out2")]}"
    have=$n
  done
  local peak fd l o
  peak=$(rss_kb "$SPID")
  for fd in "${fds[@]}"; do echo close >&"$fd" || true; done
  for l in "${loads[@]}"; do wait "$l" || true; done
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  for o in "${outs[@]}"; do grep -q closed "$o" || log "$server: a load process did not report closing"; done
  local wave=$SECONDS s
  for s in $SETTLE_SAMPLES; do
    while ((SECONDS - wave < s)); do sleep 1; done
    echo "{\"server\":\"$server\",\"test\":\"disconnect\",\"sockets\":$have,\"after_seconds\":$s,\"rss_before_kb\":$before,\"rss_peak_kb\":$peak,\"rss_kb\":$(rss_kb "$SPID")}"
  done
}

# One room of MEMBERS sockets (two load processes), one measurement per rate.
fanout() { # server members rates(comma separated, messages/s per sender; 0 = saturated)
  local server=$1 members=$2 rates=$3 half=$(($2 / 2))
  local fifo1=$TMP/fan$2.a.in fifo2=$TMP/fan$2.b.in o1=$TMP/fan$2.a.out o2=$TMP/fan$2.b.out
  local fd1 fd2 a b
  rm -f "$fifo1" "$fifo2"; mkfifo "$fifo1" "$fifo2"
  : >"$o1"; : >"$o2"
  URL=$SURL TOKEN=$TOKEN MODE=fanout MEMBERS=$half SENDERS=2 SECONDS=$FANOUT_SECONDS RATES=$rates SYNC=1 \
    ROOM=darkroom:bench${server}${members} LOCAL_ADDRS=127.0.0.1,127.0.0.2 \
    node "$E2E/bench/load.mjs" <"$fifo1" >"$o1" &
  a=$!
  URL=$SURL TOKEN=$TOKEN MODE=fanout MEMBERS=$((members - half)) SENDERS=2 SECONDS=$FANOUT_SECONDS RATES=$rates SYNC=1 \
    ROOM=darkroom:bench${server}${members} LOCAL_ADDRS=127.0.0.3,127.0.0.4 \
    node "$E2E/bench/load.mjs" <"$fifo2" >"$o2" &
  b=$!
  PIDS+=("$a" "$b")
  exec {fd1}>"$fifo1" {fd2}>"$fifo2"
  local ok=1 k=0 rate
  wait_lines "$o1" joined 1 "$a" && wait_lines "$o2" joined 1 "$b" || ok=0
  IFS=, read -r -a rate_list <<<"$rates"
  for rate in "${rate_list[@]}"; do
    ((ok)) || break
    k=$((k + 1))
    log "$server fanout $members rate $rate"
    echo go >&"$fd1" || true; echo go >&"$fd2" || true
    wait_lines "$o1" deliveries_per_second "$k" "$a" && wait_lines "$o2" deliveries_per_second "$k" "$b" || ok=0
    ((ok)) || break
    echo "{\"server\":\"$server\",\"test\":\"fanout\",\"members\":$members,\"rate_per_sender\":$rate,\"senders\":4,\"procs\":2,\"seconds\":$FANOUT_SECONDS,\"load\":[$(grep deliveries_per_second "$o1" | sed -n "${k}p"),$(grep deliveries_per_second "$o2" | sed -n "${k}p")]}"
  done
  exec {fd1}>&- {fd2}>&-
  wait "$a" "$b" || true
  ((ok)) || log "$server fanout $members: incomplete"
}

for server in ${SERVERS:-realtime bare node}; do
  start_server "$server"
  log "$server idle ramp: $IDLE_COUNTS"
  idle_ramp "$server"
  stop_server
  start_server "$server"
  for m in $FANOUT_MEMBERS; do
    if [[ -n $OFFERED ]]; then
      fixed=$(awk -v o="$OFFERED" -v m="$m" 'BEGIN{printf "%g", o / m / 4}')
    else
      fixed=$FIXED_RATE
    fi
    fanout "$server" "$m" "0,$fixed"
  done
  stop_server
done
