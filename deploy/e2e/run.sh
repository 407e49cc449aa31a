#!/usr/bin/env bash
# Gateway end-to-end: starts the whole stack exactly as a developer would
# (scripts/dev-up.sh: session-store, auth-service, two realtime instances, nginx), on ports
# of its own (28002 gateway, 28001 auth, 28003/28004 realtime, 25051 session-store; set
# E2E_GATEWAY_PORT, E2E_AUTH_PORT, E2E_REALTIME_PORT_1/_2, E2E_STORE_PORT to move them) and
# with a database and exchanges of its own, runs the node:test suites against the gateway,
# always stops the stack and drops the database, and exits with the tests' status.
#
# usage: deploy/e2e/run.sh [--no-build] [test/<file>.test.mjs ...]   (default: every suite)
# needs: Postgres on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672 (as everywhere here),
#        nginx, chromium (/usr/bin/chromium), node 20 + npm.
# output: test-output/gateway-e2e/ (stack logs, access log, screenshots)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build_flag=""
if [[ "${1:-}" == "--no-build" ]]; then
    build_flag="--no-build"
    shift
fi
tests=("$@")
if ((${#tests[@]} == 0)); then
    # zz-gateway-log runs last: it audits what the others sent through the gateway.
    tests=(test/checklist.test.mjs test/sticky.test.mjs test/websocket.test.mjs
        test/recovery.test.mjs test/browser.test.mjs test/groups.test.mjs test/zz-gateway-log.test.mjs)
fi

log() { printf '[gateway-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

output_dir="${E2E_OUTPUT_DIR:-$root/test-output/gateway-e2e}"
rm -rf "$output_dir"
mkdir -p "$output_dir"
output_dir="$(cd "$output_dir" && pwd)"

if [[ ! -d "$here/node_modules/socket.io-client" || ! -d "$here/node_modules/playwright-core" ]]; then
    log "installing the e2e's npm packages (npm ci)"
    npm ci --prefix "$here" --no-audit --no-fund
fi
[[ -x /usr/bin/chromium || -n "${CHROMIUM_PATH:-}" ]] ||
    { log "chromium is missing (apt-get install chromium)"; exit 1; }

run_id="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
database="nexus_e2e_$run_id"

# Below 32768: ports in the kernel's ephemeral range (32768-60999) can be held by the
# stack's own outgoing connections (Postgres, RabbitMQ) when nginx tries to bind.
export NEXUS_GATEWAY_PORT="${E2E_GATEWAY_PORT:-28002}"
export NEXUS_AUTH_PORT="${E2E_AUTH_PORT:-28001}"
export NEXUS_REALTIME_PORT_1="${E2E_REALTIME_PORT_1:-28003}"
export NEXUS_REALTIME_PORT_2="${E2E_REALTIME_PORT_2:-28004}"
export NEXUS_STORE_PORT="${E2E_STORE_PORT:-25051}"
export NEXUS_DEV_DIR="$output_dir/stack"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
# Exchanges of this run only, so a developer's stack or other tests never see its events.
export SESSION_EVENTS_EXCHANGE="nexus.sessions.e2e.$run_id"
export ROOMS_EXCHANGE="nexus.rooms.e2e.$run_id"
export SUPABASE_JWT_SECRET="e2e-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
unset SUPABASE_URL SUPABASE_JWKS_URL
export RUST_LOG="${RUST_LOG:-info}"
# realtime-service's Engine.IO ping interval (its default, 25 s; not configurable by
# environment), so "stays up across several ping intervals" waits about 80 s.
export E2E_PING_INTERVAL_MS="${E2E_PING_INTERVAL_MS:-25000}"

stack_pid=""
cleanup() {
    local status=$?
    if [[ -n "$stack_pid" ]] && kill -0 "$stack_pid" 2>/dev/null; then
        log "stopping the stack"
        kill -TERM "$stack_pid" 2>/dev/null || true
        wait "$stack_pid" 2>/dev/null || true
    fi
    psql "postgres://postgres@127.0.0.1:5432/postgres" -Xq -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" \
        >/dev/null 2>&1 || log "could not drop database $database"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "$build_flag" ]]; then
    log "building the workspace binaries (debug)"
    (cd "$root" && cargo build --workspace --bins)
fi

log "starting the stack (logs: $NEXUS_DEV_DIR/logs)"
"$root/scripts/dev-up.sh" --no-build >"$output_dir/dev-up.log" 2>&1 &
stack_pid=$!
deadline=$((SECONDS + 180))
until [[ -f "$NEXUS_DEV_DIR/ready" ]]; do
    if ! kill -0 "$stack_pid" 2>/dev/null; then
        log "the stack did not start:"
        cat "$output_dir/dev-up.log" >&2
        exit 1
    fi
    if ((SECONDS > deadline)); then
        log "the stack was not ready within 180 s:"
        cat "$output_dir/dev-up.log" >&2
        exit 1
    fi
    sleep 0.5
done
log "stack is up on http://localhost:$NEXUS_GATEWAY_PORT/"

export GATEWAY_URL="http://127.0.0.1:$NEXUS_GATEWAY_PORT"
export E2E_ORIGIN="http://localhost:$NEXUS_GATEWAY_PORT"
export AUTH_SERVICE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/auth-service"
export GATEWAY_ACCESS_LOG="$NEXUS_DEV_DIR/logs/gateway-access.log"
export REALTIME_UPSTREAMS="127.0.0.1:$NEXUS_REALTIME_PORT_1,127.0.0.1:$NEXUS_REALTIME_PORT_2"
export E2E_OUTPUT_DIR="$output_dir"

set +e
(
    cd "$here" &&
        node --test --test-concurrency=1 "${tests[@]}"
)
status=$?
set -e
log "node --test exited with $status"
exit "$status"
