# Sourced by scripts/schemathesis.sh and scripts/soak.sh: a session-store
# (own database) and an auth-service in front of it, on real Postgres and
# RabbitMQ, rate limits off (all traffic comes from loopback), stopped and
# the database dropped on exit.
#
#   start_auth_stack PROFILE STORE_PORT AUTH_PORT NAME
# sets: auth_url, store_pid, auth_pid, stack_secret (SUPABASE_JWT_SECRET),
#       stack_database, stack_logs.

stack_pids=()

stop_auth_stack() {
  for pid in "${stack_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $stack_database WITH (FORCE)" >/dev/null 2>&1 || true
}

wait_for() { # url or port, what
  for _ in $(seq 1 100); do
    if [[ "$1" == http* ]]; then curl -fs -o /dev/null "$1" && return 0
    else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; fi
    sleep 0.2
  done
  echo "$2 did not come up; logs:" >&2; cat "$stack_logs"/*.log >&2; return 1
}

start_auth_stack() {
  local profile="$1" store_port="$2" auth_port="$3" name="$4"
  local target="${CARGO_TARGET_DIR:-target}"
  stack_database="nexus_${name}_$$"
  stack_logs="$(mktemp -d)"
  stack_secret="${name}-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
  trap stop_auth_stack EXIT
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$stack_database" \
  SESSION_STORE_LISTEN="127.0.0.1:$store_port" RUST_LOG=warn \
    "$target/$profile/session-store" >"$stack_logs/store.log" 2>&1 &
  store_pid=$!; stack_pids+=("$store_pid")
  wait_for "$store_port" session-store
  AUTH_LISTEN="127.0.0.1:$auth_port" SESSION_STORE_URL="http://127.0.0.1:$store_port" \
  SUPABASE_JWT_SECRET="$stack_secret" SESSION_EVENTS_EXCHANGE="nexus.sessions.$name" \
  COOKIE_SECURE=false RUST_LOG=warn \
  AUTH_BRIDGE_RATE_PER_SECOND=0 AUTH_BRIDGE_GLOBAL_RATE_PER_SECOND=0 \
  AUTH_REFRESH_RATE_PER_SECOND=0 AUTH_REFRESH_GLOBAL_RATE_PER_SECOND=0 \
  AUTH_LOGOUT_RATE_PER_SECOND=0 AUTH_LOGOUT_GLOBAL_RATE_PER_SECOND=0 \
  AUTH_GROUPS_RATE_PER_SECOND=0 AUTH_GROUPS_GLOBAL_RATE_PER_SECOND=0 \
  ROOM_GRANT_KEYS="$name:$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" \
    "$target/$profile/auth-service" >"$stack_logs/auth.log" 2>&1 &
  auth_pid=$!; stack_pids+=("$auth_pid")
  auth_url="http://127.0.0.1:$auth_port"
  wait_for "$auth_url/readyz" auth-service
}
