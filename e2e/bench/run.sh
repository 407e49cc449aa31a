#!/usr/bin/env bash
# Realtime benchmark: realtime-service (release) vs a bare socketioxide server
# vs a stock Node socket.io server, same load, same box, one run.
#
#   cargo build --release -p realtime-service --bin realtime-service --example bare_socketioxide
#   cargo build -p session-store -p auth-service     # setup only (debug is fine)
#   npm ci --prefix e2e && e2e/bench/run.sh > results.jsonl
#
# Env: IDLE_COUNTS (default "10000 19000"), FANOUT_MEMBERS ("1000 10000"),
#      SETTLE (seconds to wait after a disconnect wave, default 60),
#      FIXED_RATE (messages/s per sender, 4 senders, for the latency run; default 20),
#      SERVERS ("realtime bare node").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E2E=$ROOT/e2e
REL=$ROOT/target/release
DBG=$ROOT/target/debug
IDLE_COUNTS=${IDLE_COUNTS:-"10000 19000"}
FANOUT_MEMBERS=${FANOUT_MEMBERS:-"1000 10000"}
SETTLE=${SETTLE:-60}
FIXED_RATE=${FIXED_RATE:-20} # messages/s per sender (4 senders) for the latency run
ADDRS=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
log() { echo "$*" >&2; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
json() { node -e "const o=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(o$1)"; }
wait_http() { for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; log "not up: $1"; return 1; }

export RUST_LOG=warn
ulimit -n 20000

# --- the backend our service needs (session-store, auth-service) ----------
SECRET=bench-supabase-secret-0123456789-0123456789
DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_bench SESSION_STORE_LISTEN=127.0.0.1:15051 \
  "$DBG/session-store" & PIDS+=($!)
SUPABASE_JWT_SECRET=$SECRET AUTH_LISTEN=127.0.0.1:18001 SESSION_STORE_URL=http://127.0.0.1:15051 \
  COOKIE_SECURE=false SESSION_EVENTS_EXCHANGE=bench.sessions "$DBG/auth-service" & PIDS+=($!)
wait_tcp() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; log "not up: $1"; return 1; }
wait_tcp 15051
wait_http http://127.0.0.1:18001/healthz
SUPA=$(SUPABASE_JWT_SECRET=$SECRET "$DBG/auth-service" dev-token --name Bench)
TOKEN=$(curl -fsS -X POST -H "Authorization: Bearer $SUPA" -H "Origin: http://localhost:5173" \
  http://127.0.0.1:18001/api/auth/session/bridge | json .access_token)

start_server() { # name -> sets SPID, SURL
  case $1 in
    realtime)
      REALTIME_LISTEN=127.0.0.1:18003 SESSION_STORE_URL=http://127.0.0.1:15051 \
        AUTH_JWKS_URL=http://127.0.0.1:18001/api/auth/.well-known/jwks.json \
        SUPABASE_JWT_SECRET=$SECRET SESSION_EVENTS_EXCHANGE=bench.sessions ROOMS_EXCHANGE=bench.rooms \
        REALTIME_CONNECTIONS_PER_IP=100000 REALTIME_EVENTS_PER_SECOND=100000 REALTIME_EVENT_BURST=100000 \
        REALTIME_SOCKETS_PER_USER=100000 REALTIME_CONNECTS_PER_SECOND_PER_IP=100000 REALTIME_CONNECT_BURST=100000 \
        DARKROOM_ALIAS_KEY=bench-alias-key-0123456789abcdef \
        "$REL/realtime-service" & SPID=$!; SURL=http://127.0.0.1:18003
      wait_http $SURL/readyz ;;
    bare)
      BARE_LISTEN=127.0.0.1:18013 "$REL/examples/bare_socketioxide" & SPID=$!; SURL=http://127.0.0.1:18013
      sleep 1 ;;
    node)
      PORT=18023 node "$E2E/bench/node-server.mjs" >/dev/null & SPID=$!; SURL=http://127.0.0.1:18023
      sleep 1 ;;
  esac
  PIDS+=($SPID)
  sleep 2
}

idle() { # server n
  local half=$(( $2 / 2 )) fifo1 fifo2 out1 out2
  local before; before=$(rss_kb "$SPID")
  fifo1=$(mktemp -u); fifo2=$(mktemp -u); mkfifo "$fifo1" "$fifo2"
  out1=$(mktemp); out2=$(mktemp)
  # Two load processes (each well under 20k sockets), different source addresses.
  (URL=$SURL TOKEN=$TOKEN MODE=idle N=$half LOCAL_ADDRS=127.0.0.1,127.0.0.2 node "$E2E/bench/load.mjs" < "$fifo1" > "$out1") &
  local l1=$!
  (URL=$SURL TOKEN=$TOKEN MODE=idle N=$(( $2 - half )) LOCAL_ADDRS=127.0.0.3,127.0.0.4 node "$E2E/bench/load.mjs" < "$fifo2" > "$out2") &
  local l2=$!
  exec 7>"$fifo1" 8>"$fifo2"
  until grep -q ready "$out1" && grep -q ready "$out2"; do sleep 0.5; done
  sleep 5
  local during; during=$(rss_kb "$SPID")
  echo close >&7; echo close >&8
  wait $l1 $l2 || true
  exec 7>&- 8>&-
  sleep "$SETTLE"
  local after; after=$(rss_kb "$SPID")
  echo "{\"server\":\"$1\",\"test\":\"idle\",\"sockets\":$2,\"rss_before_kb\":$before,\"rss_kb\":$during,\"kb_per_socket\":$(( (during - before) / ($2 / 1000) ))e-3,\"rss_after_disconnect_kb\":$after,\"load\":[$(head -1 "$out1"),$(head -1 "$out2")]}"
  rm -f "$fifo1" "$fifo2" "$out1" "$out2"
}

fanout() { # server members rate
  local procs=2 members=$(( $2 / 2 ))
  local o1 o2; o1=$(mktemp); o2=$(mktemp)
  URL=$SURL TOKEN=$TOKEN MODE=fanout MEMBERS=$members SENDERS=2 SECONDS=10 RATE=$3 ROOM=darkroom:bench$2r$3 \
    LOCAL_ADDRS=127.0.0.1,127.0.0.2 node "$E2E/bench/load.mjs" > "$o1" &
  local a=$!
  URL=$SURL TOKEN=$TOKEN MODE=fanout MEMBERS=$members SENDERS=2 SECONDS=10 RATE=$3 ROOM=darkroom:bench$2r$3 \
    LOCAL_ADDRS=127.0.0.3,127.0.0.4 node "$E2E/bench/load.mjs" > "$o2" &
  local b=$!
  wait $a $b || true
  echo "{\"server\":\"$1\",\"test\":\"fanout\",\"members\":$2,\"rate_per_sender\":$3,\"procs\":$procs,\"load\":[$(tail -1 "$o1"),$(tail -1 "$o2")]}"
  rm -f "$o1" "$o2"
}

for server in ${SERVERS:-realtime bare node}; do
  for n in $IDLE_COUNTS; do
    start_server "$server"; log "$server idle $n"; idle "$server" "$n"; kill "$SPID"; wait "$SPID" 2>/dev/null || true
  done
  start_server "$server"
  for m in $FANOUT_MEMBERS; do
    log "$server fanout $m saturated"; fanout "$server" "$m" 0
    log "$server fanout $m fixed rate"; fanout "$server" "$m" "$FIXED_RATE"
  done
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
done
