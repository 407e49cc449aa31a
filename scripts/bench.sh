#!/usr/bin/env bash
# One sitting: every benchmark of the project, one after the other, on the
# release build, with each figure next to its reference measured in the same
# run (issue 10). Loopback only, listening ports in 33000-33999.
#
#   scripts/bench.sh                  # the full sitting, about 12 minutes (plus the release build once)
#   BENCH_QUICK=1 scripts/bench.sh    # a check of the pipeline with tiny sizes, about 2-3 minutes
#   BENCH_STEPS="pg grpc" scripts/bench.sh   # only some steps
#
# Steps (BENCH_STEPS, default "pg grpc http realtime"):
#   pg        pgbench on a scratch database: the rotation-shaped transaction and the
#             point select (scripts/bench/pg/), a clients sweep
#   grpc      session-store/benches/grpc_load: ValidateSession, RotateRefreshToken
#             (concurrency sweep), batched ValidateSessions (sessions/s)
#   http      auth-service/examples/load: refresh/s and bridge/s, clients sweep
#   realtime  e2e/bench/run.sh: realtime-service vs bare socketioxide vs Node socket.io
#             (idle RSS per socket, RSS after a disconnect wave, fan-out saturated and at a
#             fixed offered rate for several room sizes, connect rate)
# Output (BENCH_OUT, default docs/bench, or docs/bench/quick with BENCH_QUICK=1):
#   results.jsonl (one JSON object per measurement), results.md (table, aims, machine),
#   *.svg (the curves); the table and the aims are printed at the end.
#   BENCH_UPDATE_DOC=1 also puts results.md into BENCHMARKS.md between its markers.
# Needs: PostgreSQL on 127.0.0.1:5432 (TEST_DATABASE_ADMIN_URL, user with CREATEDB),
#   RabbitMQ on 127.0.0.1:5672 (guest), pgbench and psql, Node 20 (`npm ci --prefix e2e`
#   is run when e2e/node_modules is missing), a Rust toolchain: the release binaries are
#   built here with `cargo build --release --locked` (BENCH_BUILD=0 skips that).
# Other knobs: BENCH_BUDGET (seconds, default 900: a step that would start later is
#   skipped), BENCH_PORT_BASE (33000: ports are taken from there up to the end of its
#   thousand), and the sizes below (BENCH_PG_CLIENTS, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

QUICK=${BENCH_QUICK:-0}
STEPS=${BENCH_STEPS:-pg grpc http realtime}
if [[ $QUICK == 1 ]]; then OUT_DEFAULT=docs/bench/quick; else OUT_DEFAULT=docs/bench; fi
OUT=${BENCH_OUT:-$OUT_DEFAULT}
BUDGET=${BENCH_BUDGET:-900}
PORT_BASE=${BENCH_PORT_BASE:-33000}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
REL=$TARGET/release
ADMIN_URL=${TEST_DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export TEST_DATABASE_ADMIN_URL=$ADMIN_URL
NPROC=$(nproc)

# Sizes: the full sitting, or tiny ones for BENCH_QUICK=1.
if [[ $QUICK == 1 ]]; then
  d_pg_clients="1 4"; d_pg_seconds=2; d_pg_sessions=1000
  d_grpc_conc="4 16"; d_grpc_seconds=2; d_grpc_sessions=200; d_grpc_batch=100
  d_http_clients="4 16"; d_http_seconds=2
  d_idle="200 500"; d_hold=1; d_settle="2 4"; d_members="100 1000"; d_fan_seconds=2; d_offered=2000
else
  d_pg_clients="1 4 16 64"; d_pg_seconds=8; d_pg_sessions=10000
  d_grpc_conc="16 64 128"; d_grpc_seconds=6; d_grpc_sessions=2000; d_grpc_batch=1000
  d_http_clients="16 64 128"; d_http_seconds=8
  d_idle="1000 5000 10000 15000"; d_hold=5; d_settle="20 60"; d_members="100 1000 10000"
  d_fan_seconds=8; d_offered=20000
fi
PG_CLIENTS=${BENCH_PG_CLIENTS:-$d_pg_clients}
PG_SECONDS=${BENCH_PG_SECONDS:-$d_pg_seconds}
PG_SESSIONS=${BENCH_PG_SESSIONS:-$d_pg_sessions}
GRPC_CONC=${BENCH_GRPC_CONCURRENCY:-$d_grpc_conc}
GRPC_SECONDS=${BENCH_GRPC_SECONDS:-$d_grpc_seconds}
GRPC_SESSIONS=${BENCH_GRPC_SESSIONS:-$d_grpc_sessions}
GRPC_CONNECTIONS=${BENCH_GRPC_CONNECTIONS:-8}
GRPC_BATCH=${BENCH_GRPC_BATCH:-$d_grpc_batch}
HTTP_CLIENTS=${BENCH_HTTP_CLIENTS:-$d_http_clients}
HTTP_SECONDS=${BENCH_HTTP_SECONDS:-$d_http_seconds}
IDLE_COUNTS=${BENCH_IDLE_COUNTS:-$d_idle}
HOLD=${BENCH_HOLD:-$d_hold}
SETTLE_SAMPLES=${BENCH_SETTLE_SAMPLES:-$d_settle}
FANOUT_MEMBERS=${BENCH_FANOUT_MEMBERS:-$d_members}
FANOUT_SECONDS=${BENCH_FANOUT_SECONDS:-$d_fan_seconds}
OFFERED=${BENCH_OFFERED:-$d_offered}

STARTED=$SECONDS
CURRENT=          # process group of the tool running now (its `timeout`)
DATABASES=()      # scratch databases this script created
WORK=$(mktemp -d)
log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

cleanup() {
  local status=$?
  if [[ -n $CURRENT ]]; then kill -TERM -- "-$CURRENT" 2>/dev/null || true; wait "$CURRENT" 2>/dev/null || true; fi
  local db
  for db in "${DATABASES[@]}"; do
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || log "could not drop $db"
  done
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# bounded SECONDS OUTFILE COMMAND...: runs the command in its own process group
# (GNU timeout makes one), killed after SECONDS; stdout to OUTFILE, stderr shown.
bounded() {
  local limit=$1 out=$2
  shift 2
  timeout --kill-after=10 "$limit" "$@" >"$out" &
  CURRENT=$!
  local status=0
  wait "$CURRENT" || status=$?
  CURRENT=
  if ((status == 124)); then log "timed out after ${limit}s: $*"; fi
  return "$status"
}

within_budget() { # step name
  if ((SECONDS - STARTED > BUDGET)); then
    log "budget of ${BUDGET}s used up: skipping $1"
    return 1
  fi
}

db_url() { echo "${ADMIN_URL%/*}/$1"; }

# take_port VAR: sets VAR to the next port of 33000-33999 (from BENCH_PORT_BASE on)
# that nothing on 127.0.0.1 uses now, not even a client socket or one in TIME_WAIT
# (the range lies in the kernel's ephemeral range); each port is handed out once.
NEXT_PORT=$PORT_BASE
PORT_END=$((PORT_BASE - PORT_BASE % 1000 + 1000))
take_port() {
  local found
  found=$(python3 -c '
import socket, sys
for port in range(int(sys.argv[1]), int(sys.argv[2])):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break' "$NEXT_PORT" "$PORT_END")
  [[ -n $found ]] || { log "no free port left in $NEXT_PORT-$((PORT_END - 1))"; return 1; }
  NEXT_PORT=$((found + 1))
  printf -v "$1" %s "$found"
}
record() { python3 scripts/bench/record.py "$RESULTS" "$@"; }

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- build what the steps need (release) --------------------------------------
GRPC_LOAD=
if [[ ${BENCH_BUILD:-1} == 1 ]]; then
  log "building release binaries (cargo build --release --locked)"
  cargo build --release --locked -p session-store -p auth-service -p realtime-service \
    --bins --example load --example bare_socketioxide --bench grpc_load \
    --message-format=json-render-diagnostics >"$WORK/build.json"
  GRPC_LOAD=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("reason") == "compiler-artifact" and o["target"]["name"] == "grpc_load" and o.get("executable"):
        print(o["executable"])' "$WORK/build.json" | tail -1)
else
  GRPC_LOAD=$(find "$REL/deps" -maxdepth 1 -type f -executable -name 'grpc_load-*' -printf '%T@ %p\n' \
    | sort -n | tail -1 | cut -d' ' -f2)
fi
if [[ $STEPS == *realtime* && ! -d e2e/node_modules/socket.io-client ]]; then
  log "installing the Node load generator's packages (npm ci --prefix e2e)"
  npm ci --prefix e2e --no-audit --no-fund >&2
fi

record meta start --quick "$QUICK" --steps "$STEPS" --admin-url "$ADMIN_URL"
log "sitting started; results in $RESULTS"

# --- 1. the Postgres limit: pgbench, two statement shapes ---------------------
step_pg() {
  local db=nexus_bench_pg_$$ url shape c j
  url=$(db_url "$db")
  psql "$ADMIN_URL" -qc "CREATE DATABASE $db"
  DATABASES+=("$db")
  local migration
  for migration in session-store/migrations/*/up.sql; do
    PGOPTIONS='-c client_min_messages=warning' psql "$url" -q -v ON_ERROR_STOP=1 -f "$migration" >/dev/null
  done
  psql "$url" -q -v ON_ERROR_STOP=1 -v sessions="$PG_SESSIONS" -f scripts/bench/pg/seed.sql >/dev/null
  for shape in rotation point_select; do
    for c in $PG_CLIENTS; do
      j=$((c < NPROC ? c : NPROC))
      log "pgbench $shape: $c clients, $j threads, ${PG_SECONDS}s"
      bounded $((PG_SECONDS + 60)) "$WORK/pgbench.out" pgbench -n -M prepared -c "$c" -j "$j" \
        -T "$PG_SECONDS" -D sessions="$PG_SESSIONS" -f "scripts/bench/pg/$shape.sql" "$url" || true
      record pgbench --shape "$shape" --clients "$c" --threads "$j" <"$WORK/pgbench.out"
    done
  done
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}

# --- 2. session-store over gRPC: grpc_load ------------------------------------
step_grpc() {
  if [[ -z $GRPC_LOAD || ! -x $GRPC_LOAD ]]; then log "grpc_load not built: skipping"; return 0; fi
  local c i=0 batch port
  for c in $GRPC_CONC; do
    take_port port
    i=$((i + 1))
    batch=0
    if ((i == 1)); then batch=$GRPC_BATCH; fi # the batched phase once, it has its own callers
    log "grpc_load: $c callers over $GRPC_CONNECTIONS connections, ${GRPC_SECONDS}s per phase"
    BENCH_JSON=1 BENCH_CONCURRENCY=$c BENCH_CONNECTIONS=$GRPC_CONNECTIONS BENCH_SESSIONS=$GRPC_SESSIONS \
      BENCH_SECONDS=$GRPC_SECONDS BENCH_BATCH=$batch BENCH_PORT=$port RUST_LOG=warn \
      bounded $((GRPC_SECONDS * 3 + 120)) "$WORK/grpc.out" "$GRPC_LOAD" || true
    record grpc --connections "$GRPC_CONNECTIONS" <"$WORK/grpc.out"
  done
}

# --- 3. auth-service end to end over HTTP: examples/load ---------------------
step_http() {
  local mode c port store_port
  for mode in refresh bridge; do
    for c in $HTTP_CLIENTS; do
      take_port port; take_port store_port
      log "auth load $mode: $c clients, ${HTTP_SECONDS}s"
      RUST_LOG=warn bounded $((HTTP_SECONDS + 120)) "$WORK/http.out" "$REL/examples/load" "$mode" \
        --clients "$c" --seconds "$HTTP_SECONDS" --port "$port" \
        --store-port "$store_port" --json || true
      record http <"$WORK/http.out"
    done
  done
}

# --- 4. realtime: realtime-service vs bare socketioxide vs Node socket.io ----
step_realtime() {
  local db=nexus_bench_rt_$$ settle_last limit store auth rt bare node
  take_port store; take_port auth; take_port rt; take_port bare; take_port node
  DATABASES+=("$db")
  settle_last=${SETTLE_SAMPLES##* }
  # Generous bound: connects at >= 300/s, every measurement, the settle time, per server.
  limit=$(( 3 * (2 * ${IDLE_COUNTS##* } / 300 + settle_last + 6 * (FANOUT_SECONDS + 5) + 120) ))
  log "realtime: idle $IDLE_COUNTS, rooms $FANOUT_MEMBERS, ${OFFERED} deliveries/s offered"
  SERVERS="bare node realtime" IDLE_COUNTS=$IDLE_COUNTS HOLD=$HOLD SETTLE_SAMPLES=$SETTLE_SAMPLES \
    FANOUT_MEMBERS=$FANOUT_MEMBERS FANOUT_SECONDS=$FANOUT_SECONDS OFFERED=$OFFERED \
    STORE_PORT=$store AUTH_PORT=$auth REALTIME_PORT=$rt BARE_PORT=$bare NODE_PORT=$node DB_NAME=$db \
    BIN_DIR=$REL BACKEND_BIN_DIR=$REL \
    bounded "$limit" "$WORK/realtime.out" e2e/bench/run.sh || true
  record realtime <"$WORK/realtime.out"
}

for step in $STEPS; do
  case $step in
    pg|grpc|http|realtime) within_budget "$step" && "step_$step" ;;
    *) log "unknown step $step (pg grpc http realtime)"; exit 2 ;;
  esac
done

record meta end
log "sitting done in $((SECONDS - STARTED))s"
render_args=("$RESULTS" --out "$OUT")
if [[ ${BENCH_UPDATE_DOC:-0} == 1 ]]; then render_args+=(--into BENCHMARKS.md); fi
python3 scripts/bench/render.py "${render_args[@]}"
