#!/usr/bin/env bash
# The many-instance scale test: the launcher with 4 realtime, 2 auth and 2 session-store
# instances behind the gateway, then deploy/scale/scale.test.mjs (node:test, the real
# socket.io-client) drives thousands of sockets through the gateway:
#   - sockets spread over every realtime instance, rooms spanning all of them;
#   - every member gets every message exactly once (before and after churn);
#   - presence agrees on every instance after churn;
#   - a logout kicks the session's sockets on every instance within a second;
#   - one realtime instance killed mid-run: its clients reconnect through the gateway to
#     the others, rejoin with the room history, and get every later message exactly once.
# Own ports (26200-26299), database and exchanges; always stops the stack and drops the
# database. About 1-2 minutes with debug binaries.
#
# usage: deploy/scale/run.sh [--no-build]
# env:   SCALE_PORT_BASE (26200), SCALE_SOCKETS (2000), SCALE_USERS (200), SCALE_ROOMS (20),
#        NEXUS_REALTIME_INSTANCES (4), NEXUS_AUTH_INSTANCES (2), NEXUS_STORE_INSTANCES (2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '[scale %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ "${1:-}" != "--no-build" ]]; then
    log "building the workspace binaries (debug)"
    (cd "$root" && cargo build --workspace --bins)
fi
if [[ ! -d "$root/deploy/e2e/node_modules/socket.io-client" ]]; then
    npm ci --prefix "$root/deploy/e2e" --no-audit --no-fund
fi

output_dir="$root/test-output/scale"
rm -rf "$output_dir"
mkdir -p "$output_dir"
base="${SCALE_PORT_BASE:-26200}"
run_id="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
database="nexus_scale_$run_id"

export NEXUS_REALTIME_INSTANCES="${NEXUS_REALTIME_INSTANCES:-4}"
export NEXUS_AUTH_INSTANCES="${NEXUS_AUTH_INSTANCES:-2}"
export NEXUS_STORE_INSTANCES="${NEXUS_STORE_INSTANCES:-2}"
export NEXUS_GATEWAY_PORT=$((base + 2))
export NEXUS_AUTH_PORT=$((base + 1))          # auth i: +10 each
export NEXUS_REALTIME_PORT_1=$((base + 3))    # realtime i: +1 each
export NEXUS_STORE_PORT=$((base + 51))        # store i: +10 each, metrics +1
export NEXUS_DEV_DIR="$output_dir/stack"
export NEXUS_TOLERATE_EXITS=1                 # the test kills one realtime instance
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
export SESSION_EVENTS_EXCHANGE="nexus.sessions.scale.$run_id"
export ROOMS_EXCHANGE="nexus.rooms.scale.$run_id"
export SUPABASE_JWT_SECRET="scale-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
unset SUPABASE_URL SUPABASE_JWKS_URL
export RUST_LOG="${RUST_LOG:-warn}"
# Thousands of sockets from 64 loopback addresses in seconds: the per-address
# connect rate is an abuse limit, not what this test measures.
export REALTIME_CONNECTS_PER_SECOND_PER_IP=100000 REALTIME_CONNECT_BURST=100000
ulimit -n 20000 2>/dev/null || true

stack_pid=""
cleanup() {
    local status=$?
    if [[ -n "$stack_pid" ]] && kill -0 "$stack_pid" 2>/dev/null; then
        log "stopping the stack"
        kill -TERM "$stack_pid" 2>/dev/null || true
        wait "$stack_pid" 2>/dev/null || true
    fi
    psql "postgres://postgres@127.0.0.1:5432/postgres" -Xq \
        -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 ||
        log "could not drop database $database"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting $NEXUS_REALTIME_INSTANCES realtime / $NEXUS_AUTH_INSTANCES auth / $NEXUS_STORE_INSTANCES session-store instances"
"$root/scripts/dev-up.sh" --no-build >"$output_dir/dev-up.log" 2>&1 &
stack_pid=$!
deadline=$((SECONDS + 180))
until [[ -f "$NEXUS_DEV_DIR/ready" ]]; do
    if ! kill -0 "$stack_pid" 2>/dev/null || ((SECONDS > deadline)); then
        log "the stack did not start:"
        cat "$output_dir/dev-up.log" >&2
        exit 1
    fi
    sleep 0.5
done
log "stack is up"

realtime_urls=""
for ((i = 1; i <= NEXUS_REALTIME_INSTANCES; i++)); do
    realtime_urls+="${realtime_urls:+,}http://127.0.0.1:$((NEXUS_REALTIME_PORT_1 + i - 1))"
done
export GATEWAY_URL="http://127.0.0.1:$NEXUS_GATEWAY_PORT"
export SCALE_ORIGIN="http://localhost:$NEXUS_GATEWAY_PORT"
export REALTIME_URLS="$realtime_urls"
export AUTH_SERVICE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/auth-service"

set +e
(cd "$here" && node --test --test-concurrency=1 scale.test.mjs)
status=$?
set -e
log "node --test exited with $status"
exit "$status"
