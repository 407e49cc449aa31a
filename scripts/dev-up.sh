#!/usr/bin/env bash
# Local launcher for machines without Docker: the same topology as docker-compose.yml.
#
#   session-store x S (gRPC)  ->  Postgres (local)
#   auth-service x A          ->  session-store, RabbitMQ (local)
#   realtime-service x R      ->  session-store, RabbitMQ, auth-service's JWKS
#   nginx gateway             ->  auth-service (round robin), realtime-service (sticky), demo page
#
# usage: scripts/dev-up.sh [--release] [--no-build] [--help]
#
# It builds the workspace (debug unless --release), starts everything against the local
# Postgres and RabbitMQ, waits until each service answers, prints the URL and then waits.
# Ctrl-C or SIGTERM stops everything it started (services get SIGTERM and shut down
# gracefully). It runs fine as a background process without a terminal (the gateway e2e,
# deploy/e2e/run.sh, starts it that way); "$NEXUS_DEV_DIR/ready" appears once all is up.
#
# Plain HTTP, so COOKIE_SECURE=false. Everything is configurable through the environment:
#   NEXUS_REALTIME_INSTANCES (2)  NEXUS_AUTH_INSTANCES (1)  NEXUS_STORE_INSTANCES (1)
#   NEXUS_GATEWAY_PORT (8002)  NEXUS_AUTH_PORT (8001; instance i: +10*(i-1))
#   NEXUS_STORE_PORT (50051; instance i: +10*(i-1); its /metrics on that port + 1)
#   NEXUS_REALTIME_PORT_1 (8003)  NEXUS_REALTIME_PORT_<i> (default PORT_1 + i - 1)
#   NEXUS_DEV_DIR (.dev-up/ in the repository: logs, pid files, rendered nginx config)
#   NEXUS_TOLERATE_EXITS=1: keep the rest running when an instance dies (tests that kill
#   one on purpose); by default one exit stops everything
# Instance i of auth-service and realtime uses session-store instance ((i-1) mod S) + 1,
# and realtime instance i fetches the JWKS of auth instance ((i-1) mod A) + 1. With several
# auth instances they share one generated signing key and refresh key (as replicas must).
#   DATABASE_URL, AMQP_URL, SUPABASE_URL, SUPABASE_JWKS_URL, SUPABASE_JWT_SECRET,
#   SESSION_STORE_TOKEN, DARKROOM_ALIAS_KEY, CORS_ORIGINS, RUST_LOG ... (DESIGN.md names)
# SUPABASE_JWT_SECRET, SESSION_STORE_TOKEN, DARKROOM_ALIAS_KEY and ROOM_GRANT_KEYS are
# generated when unset (development only), so `auth-service dev-token` works, both realtime
# instances give the same Dark Room aliases and accept auth-service's group grants. Two
# fresh dev tokens (two users) are written to the demo page's folder as dev-token.json
# (never in compose) for the page's "Load dev token" buttons.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile=debug
build=1
for arg in "$@"; do
    case "$arg" in
        --release) profile=release ;;
        --no-build) build=0 ;;
        -h | --help)
            sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "dev-up: unknown argument $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

gateway_port="${NEXUS_GATEWAY_PORT:-8002}"
auth_port="${NEXUS_AUTH_PORT:-8001}"
store_port="${NEXUS_STORE_PORT:-50051}"
realtime_instances="${NEXUS_REALTIME_INSTANCES:-2}"
auth_instances="${NEXUS_AUTH_INSTANCES:-1}"
store_instances="${NEXUS_STORE_INSTANCES:-1}"
dev_dir="${NEXUS_DEV_DIR:-$root/.dev-up}"
html_dir="$root/deploy/gateway/html"

log() { printf '[dev-up %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
    log "ERROR: $*" >&2
    exit 1
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

for count in "$realtime_instances" "$auth_instances" "$store_instances"; do
    [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "instance counts are 1-99 (NEXUS_*_INSTANCES), got $count"
done
# Ports of every instance (1-based arrays padded at 0).
store_ports=(0) auth_ports=(0) realtime_ports=(0)
for ((i = 1; i <= store_instances; i++)); do store_ports+=($((store_port + 10 * (i - 1)))); done
for ((i = 1; i <= auth_instances; i++)); do auth_ports+=($((auth_port + 10 * (i - 1)))); done
realtime_port_1="${NEXUS_REALTIME_PORT_1:-8003}"
for ((i = 1; i <= realtime_instances; i++)); do
    default_port=$((realtime_port_1 + i - 1))
    name="NEXUS_REALTIME_PORT_$i"
    realtime_ports+=("${!name:-$default_port}")
done
# "host:port,host:port" of instances 1..N of a port array.
address_list() {
    local -n ports_ref="$1"
    local list="" i
    for ((i = 1; i < ${#ports_ref[@]}; i++)); do list+="${list:+,}127.0.0.1:${ports_ref[$i]}"; done
    printf '%s' "$list"
}

command -v nginx >/dev/null || die "nginx is not installed (Debian: apt-get install nginx-light)"
command -v envsubst >/dev/null || die "envsubst is not installed (Debian: apt-get install gettext-base)"
command -v curl >/dev/null || die "curl is not installed"

mkdir -p "$dev_dir/logs"
dev_dir="$(cd "$dev_dir" && pwd)"
# Keep the folder out of git without touching the repository's .gitignore.
[[ -f "$dev_dir/.gitignore" ]] || printf '*\n' >"$dev_dir/.gitignore"
rm -f "$dev_dir/ready"

# ---------------------------------------------------------------- build
if [[ "$build" == 1 ]]; then
    log "building the workspace ($profile)"
    if [[ "$profile" == release ]]; then
        (cd "$root" && cargo build --workspace --bins --release)
    else
        (cd "$root" && cargo build --workspace --bins)
    fi
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin_dir="$target_dir/$profile"
for binary in session-store auth-service realtime-service; do
    [[ -x "$bin_dir/$binary" ]] || die "$bin_dir/$binary is missing: run without --no-build"
done

# The demo page's socket.io-client comes from the pinned npm package, never a CDN.
vendor_src="$root/deploy/gateway/node_modules/socket.io-client/dist"
if [[ ! -f "$vendor_src/socket.io.min.js" ]]; then
    log "installing the demo page's socket.io-client (npm ci in deploy/gateway)"
    npm ci --prefix "$root/deploy/gateway" --no-audit --no-fund >"$dev_dir/logs/npm.log" 2>&1 ||
        die "npm ci --prefix deploy/gateway failed, see $dev_dir/logs/npm.log"
fi
mkdir -p "$html_dir/vendor"
cp "$vendor_src/socket.io.min.js" "$vendor_src/socket.io.min.js.map" "$html_dir/vendor/"

# ---------------------------------------------------------------- configuration
export RUST_LOG="${RUST_LOG:-info}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nexus}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export SESSION_STORE_URL="http://127.0.0.1:${store_ports[1]}"
export AUTH_JWKS_URL="http://127.0.0.1:${auth_ports[1]}/api/auth/.well-known/jwks.json"
export COOKIE_SECURE=false
export TRUSTED_PROXIES="${TRUSTED_PROXIES:-127.0.0.1/32,::1/128}"
export CORS_ORIGINS="${CORS_ORIGINS:-http://localhost:$gateway_port,http://127.0.0.1:$gateway_port,http://localhost:5173}"
if [[ -z "${SUPABASE_JWT_SECRET:-}${SUPABASE_URL:-}${SUPABASE_JWKS_URL:-}" ]]; then
    SUPABASE_JWT_SECRET="dev-$(random_hex 32)"
    export SUPABASE_JWT_SECRET
    log "SUPABASE_JWT_SECRET was not set: generated one for this run (development only)"
fi
if ((auth_instances > 1)); then
    # Replicas must share their keys, or each rejects the others' tokens.
    if [[ -z "${ACCESS_TOKEN_KEYS:-}" ]]; then
        command -v openssl >/dev/null || die "openssl is needed to generate a shared signing key"
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$dev_dir/access-key.pem" 2>/dev/null) ||
            die "cannot generate $dev_dir/access-key.pem"
        export ACCESS_TOKEN_KEYS="$dev_dir/access-key.pem"
        log "ACCESS_TOKEN_KEYS was not set: one generated Ed25519 key shared by the $auth_instances auth instances"
    fi
    if [[ -z "${REFRESH_TOKEN_KEYS:-}" ]]; then
        REFRESH_TOKEN_KEYS="dev:$(random_hex 32)"
        export REFRESH_TOKEN_KEYS
    fi
fi
if [[ -z "${SESSION_STORE_TOKEN:-}" ]]; then
    SESSION_STORE_TOKEN="$(random_hex 24)"
    export SESSION_STORE_TOKEN
fi
if [[ -z "${DARKROOM_ALIAS_KEY:-}" ]]; then
    # Shared by both realtime instances so a user has one alias per Dark Room.
    DARKROOM_ALIAS_KEY="$(random_hex 32)"
    export DARKROOM_ALIAS_KEY
fi
if [[ -z "${ROOM_GRANT_KEYS:-}" ]]; then
    # auth-service signs group room grants with it, every realtime instance verifies them.
    ROOM_GRANT_KEYS="dev:$(random_hex 32)"
    export ROOM_GRANT_KEYS
fi

# The generated development values, for minting more dev tokens or a second shell.
(
    umask 077
    {
        printf 'SUPABASE_JWT_SECRET=%q\n' "${SUPABASE_JWT_SECRET:-}"
        printf 'SUPABASE_URL=%q\n' "${SUPABASE_URL:-}"
        printf 'SESSION_STORE_TOKEN=%q\n' "$SESSION_STORE_TOKEN"
        printf 'SESSION_STORE_URL=%q\n' "$SESSION_STORE_URL"
        printf 'SESSION_STORE_TOKEN=%q\n' "$SESSION_STORE_TOKEN"
        printf 'DATABASE_URL=%q\n' "$DATABASE_URL"
    } >"$dev_dir/dev.env"
)

log "plain HTTP on localhost: COOKIE_SECURE=false (cookies without Secure; never do this behind a public URL)"
log "logs: $dev_dir/logs/"

# ---------------------------------------------------------------- process control
pids=()
names=()
stopping=0

stop_all() {
    local status=$?
    [[ "$stopping" == 1 ]] && return
    stopping=1
    trap '' INT TERM
    rm -f "$dev_dir/ready"
    if ((${#pids[@]} > 0)); then
        log "stopping ${names[*]}"
        local index
        for ((index = ${#pids[@]} - 1; index >= 0; index--)); do
            kill -TERM "${pids[$index]}" 2>/dev/null || true
        done
        local waited=0
        while ((waited < 100)); do
            local alive=0
            for pid in "${pids[@]}"; do
                kill -0 "$pid" 2>/dev/null && alive=1
            done
            ((alive == 0)) && break
            sleep 0.1
            waited=$((waited + 1))
        done
        for index in "${!pids[@]}"; do
            if kill -0 "${pids[$index]}" 2>/dev/null; then
                log "${names[$index]} did not stop within 10 s: killing it"
                kill -KILL "${pids[$index]}" 2>/dev/null || true
            fi
        done
        wait 2>/dev/null || true
    fi
    rm -f "$html_dir/dev-token.json"
    log "stopped"
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COMMAND... : runs a process in the background, logging to logs/NAME.log.
start() {
    local name="$1"
    shift
    "$@" >"$dev_dir/logs/$name.log" 2>&1 </dev/null &
    pids+=("$!")
    names+=("$name")
    echo "$!" >"$dev_dir/$name.pid"
    log "started $name (pid $!)"
}

# wait_for NAME CHECK... : polls CHECK until it succeeds, the process dies or 90 s pass.
wait_for() {
    local name="$1"
    shift
    local index pid
    for index in "${!names[@]}"; do
        [[ "${names[$index]}" == "$name" ]] && pid="${pids[$index]}"
    done
    local deadline=$((SECONDS + 90))
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$dev_dir/logs/$name.log" >&2 || true
            die "$name exited during start-up (log: $dev_dir/logs/$name.log)"
        fi
        if ((SECONDS > deadline)); then
            tail -n 30 "$dev_dir/logs/$name.log" >&2 || true
            die "$name was not ready within 90 s (log: $dev_dir/logs/$name.log)"
        fi
        sleep 0.3
    done
    log "$name is ready"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }

# ---------------------------------------------------------------- start
# A port already taken (often a stack from an earlier run) would make a readiness check
# answer for the wrong process: refuse up front.
for port in "${store_ports[@]:1}" "${auth_ports[@]:1}" "${realtime_ports[@]:1}" "$gateway_port"; do
    if port_open "$port"; then
        die "port $port is already in use (another stack running? see NEXUS_*_PORT in --help)"
    fi
done

# Names of instance i: session-store, auth-service, realtime-1 when there is one of a kind
# (as in compose); session-store-2, auth-service-2 ... beyond.
instance_name() {
    if [[ "$2" == 1 && "$3" == 1 && "$1" != realtime ]]; then printf '%s' "$1"; else printf '%s-%s' "$1" "$2"; fi
}

for ((i = 1; i <= store_instances; i++)); do
    name="$(instance_name session-store "$i" "$store_instances")"
    SESSION_STORE_LISTEN="127.0.0.1:${store_ports[$i]}" \
        SESSION_STORE_METRICS_LISTEN="127.0.0.1:$((store_ports[i] + 1))" \
        start "$name" "$bin_dir/session-store"
    # The first instance migrates before it binds; the others find the schema ready.
    wait_for "$name" env SESSION_STORE_LISTEN="127.0.0.1:${store_ports[$i]}" "$bin_dir/session-store" health
done

store_url_for() { printf 'http://127.0.0.1:%s' "${store_ports[$(((($1 - 1) % store_instances) + 1))]}"; }

for ((i = 1; i <= auth_instances; i++)); do
    name="$(instance_name auth-service "$i" "$auth_instances")"
    AUTH_LISTEN="127.0.0.1:${auth_ports[$i]}" SESSION_STORE_URL="$(store_url_for "$i")" \
        start "$name" "$bin_dir/auth-service"
done
for ((i = 1; i <= auth_instances; i++)); do
    wait_for "$(instance_name auth-service "$i" "$auth_instances")" http_ok "http://127.0.0.1:${auth_ports[$i]}/readyz"
done

for ((i = 1; i <= realtime_instances; i++)); do
    jwks_port="${auth_ports[$(((($i - 1) % auth_instances) + 1))]}"
    REALTIME_LISTEN="127.0.0.1:${realtime_ports[$i]}" SESSION_STORE_URL="$(store_url_for "$i")" \
        AUTH_JWKS_URL="http://127.0.0.1:$jwks_port/api/auth/.well-known/jwks.json" \
        start "realtime-$i" "$bin_dir/realtime-service"
done
for ((i = 1; i <= realtime_instances; i++)); do
    wait_for "realtime-$i" http_ok "http://127.0.0.1:${realtime_ports[$i]}/readyz"
done

# The dev token needs the HS256 secret; with only SUPABASE_URL/JWKS there is none to sign with.
if [[ -n "${SUPABASE_JWT_SECRET:-}" ]]; then
    "$bin_dir/auth-service" dev-token --name "Dev User" --ttl 12h >"$dev_dir/dev-token.txt"
    # A second user, so two browser windows can be two members of a group chat.
    "$bin_dir/auth-service" dev-token --name "Second User" --email second@example.com --ttl 12h \
        >"$dev_dir/dev-token-2.txt"
    printf '{"access_token": "%s", "second_access_token": "%s"}\n' \
        "$(cat "$dev_dir/dev-token.txt")" "$(cat "$dev_dir/dev-token-2.txt")" >"$html_dir/dev-token.json"
else
    rm -f "$dev_dir/dev-token.txt" "$dev_dir/dev-token-2.txt" "$html_dir/dev-token.json"
    log "no SUPABASE_JWT_SECRET: no dev token (sign in with a token of your Supabase project)"
fi

NEXUS_GATEWAY_LISTEN="${NEXUS_GATEWAY_LISTEN:-$gateway_port}" \
    NEXUS_AUTH_UPSTREAMS="$(address_list auth_ports)" \
    NEXUS_REALTIME_UPSTREAMS="$(address_list realtime_ports)" \
    NEXUS_CORS_ORIGINS="$CORS_ORIGINS" \
    NEXUS_HTML_ROOT="$html_dir" \
    NEXUS_ACCESS_LOG="$dev_dir/logs/gateway-access.log" \
    NEXUS_ERROR_LOG="$dev_dir/logs/gateway-error.log" \
    "$root/deploy/gateway/render-local.sh" "$dev_dir/nginx" >/dev/null
nginx -t -q -p "$dev_dir/nginx" -c "$dev_dir/nginx/nginx.conf" ||
    die "nginx rejected the rendered gateway config ($dev_dir/nginx/nginx.conf)"
start gateway nginx -p "$dev_dir/nginx" -c "$dev_dir/nginx/nginx.conf"
wait_for gateway http_ok "http://127.0.0.1:$gateway_port/healthz"
http_ok "http://127.0.0.1:$gateway_port/api/auth/.well-known/jwks.json" ||
    die "the gateway does not reach auth-service (see $dev_dir/logs/gateway-error.log)"

touch "$dev_dir/ready"
cat <<EOF

  Nexus is up:  http://localhost:$gateway_port/   (demo page; "Load dev token", then "Sign in")
  auth-service $(address_list auth_ports)
  realtime     $(address_list realtime_ports)
  session-store $(address_list store_ports) (metrics on port + 1)
  A Supabase-shaped dev token: $dev_dir/dev-token.txt
  More tokens: (set -a; . $dev_dir/dev.env; $bin_dir/auth-service dev-token --name Alice)
  Logs: $dev_dir/logs/   Stop: Ctrl-C (or kill -TERM $$)

EOF

# Wait until a process dies (then stop the rest) or a signal arrives.
declare -A reported=()
while true; do
    for index in "${!pids[@]}"; do
        if ! kill -0 "${pids[$index]}" 2>/dev/null; then
            if [[ "${NEXUS_TOLERATE_EXITS:-0}" == 1 && "${names[$index]}" != gateway ]]; then
                if [[ -z "${reported[$index]:-}" ]]; then
                    log "${names[$index]} exited; the others keep running (NEXUS_TOLERATE_EXITS=1)"
                    reported[$index]=1
                fi
                continue
            fi
            log "${names[$index]} exited unexpectedly (log: $dev_dir/logs/${names[$index]}.log)"
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
