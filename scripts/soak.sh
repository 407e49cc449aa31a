#!/usr/bin/env bash
# Soak test of auth-service + session-store (release build): SOAK_WORKERS
# processes (default 4) of mixed bridge / refresh / sessions / revoke / logout
# traffic for SOAK_SECONDS (default 600) against a real Postgres and RabbitMQ.
# Prints every response that is neither 2xx nor 4xx as it happens, RSS and
# open file descriptors of each service every SOAK_SECONDS/10 (start, middle
# and end included), and request counts per operation and status at the end.
# Exits non-zero on any 5xx or connection failure.
#
#   SOAK_SECONDS=60 scripts/soak.sh      # a quick check
#   scripts/soak.sh                      # the 10-minute run (BENCHMARKS.md)
#
# Ports: SOAK_STORE_PORT / SOAK_AUTH_PORT (default 29161 / 29162).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SOAK_SECONDS:-600}"
workers="${SOAK_WORKERS:-4}"
profile="${SOAK_PROFILE:-release}"
target="${CARGO_TARGET_DIR:-target}"
store_port="${SOAK_STORE_PORT:-29161}"
auth_port="${SOAK_AUTH_PORT:-29162}"
database="nexus_soak_$$"
logs="$(mktemp -d)"
secret="soak-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
pids=()
workers_pids=()

if [ "$profile" = release ]; then cargo build --release --workspace --bins --locked -q
else cargo build --workspace --bins --locked -q; fi

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() {
  for _ in $(seq 1 100); do
    if [[ "$1" == http* ]]; then curl -fs -o /dev/null "$1" && return 0
    else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; fi
    sleep 0.2
  done
  echo "$2 did not come up" >&2; cat "$logs"/*.log >&2; return 1
}

DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
SESSION_STORE_LISTEN="127.0.0.1:$store_port" RUST_LOG=warn \
  "$target/$profile/session-store" >"$logs/store.log" 2>&1 &
store_pid=$!; pids+=("$store_pid")
wait_for "$store_port" session-store
AUTH_LISTEN="127.0.0.1:$auth_port" SESSION_STORE_URL="http://127.0.0.1:$store_port" \
SUPABASE_JWT_SECRET="$secret" SESSION_EVENTS_EXCHANGE=nexus.sessions.soak \
COOKIE_SECURE=false RUST_LOG=warn \
AUTH_BRIDGE_RATE_PER_SECOND=0 AUTH_BRIDGE_GLOBAL_RATE_PER_SECOND=0 \
AUTH_REFRESH_RATE_PER_SECOND=0 AUTH_REFRESH_GLOBAL_RATE_PER_SECOND=0 \
AUTH_LOGOUT_RATE_PER_SECOND=0 AUTH_LOGOUT_GLOBAL_RATE_PER_SECOND=0 \
  "$target/$profile/auth-service" >"$logs/auth.log" 2>&1 &
auth_pid=$!; pids+=("$auth_pid")
wait_for "http://127.0.0.1:$auth_port/readyz" auth-service

sample() { # label
  local line="$1"
  for entry in "session-store:$store_pid" "auth-service:$auth_pid"; do
    local name="${entry%%:*}" pid="${entry##*:}"
    local rss fds
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    line+=$(printf '  %s rss=%6d KiB fds=%4d' "$name" "$rss" "$fds")
  done
  echo "$line"
}

echo "==> soak: $workers workers x ${seconds}s against $profile auth-service :$auth_port"
until=$(( $(date +%s) + seconds ))
for i in $(seq 1 "$workers"); do
  NEXUS_AUTH_URL="http://127.0.0.1:$auth_port" NEXUS_SUPABASE_SECRET="$secret" SOAK_UNTIL="$until" \
    python3 scripts/soak_worker.py >"$logs/worker-$i.out" 2>&1 &
  pids+=($!)
  workers_pids+=($!)
done
step=$(( seconds / 10 > 0 ? seconds / 10 : 1 ))
sample "t=0s (start)"
for n in $(seq 1 10); do
  sleep "$step"
  label="t=$(( n * step ))s"; [ "$n" = 5 ] && label+=" (middle)"; [ "$n" = 10 ] && label+=" (end)"
  sample "$label"
  grep -h UNEXPECTED "$logs"/worker-*.out 2>/dev/null | tail -5 || true
done
for pid in "${workers_pids[@]}"; do wait "$pid" || true; done
if grep -q Traceback "$logs"/worker-*.out; then
  echo "a soak worker failed:" >&2; grep -h -A20 Traceback "$logs"/worker-*.out | head -40 >&2; exit 1
fi

echo "==> responses by operation and status"
python3 - "$logs" <<'PY'
import collections, glob, json, sys
total = collections.Counter()
for path in glob.glob(f"{sys.argv[1]}/worker-*.out"):
    for line in open(path):
        if line.startswith("{"):
            total.update(json.loads(line))
bad = 0
for key, count in sorted(total.items()):
    status = int(key.rsplit(" ", 1)[1])
    bad += count if not (200 <= status < 300 or 400 <= status < 500) else 0
    print(f"  {key:28s} {count:8d}")
print(f"  total {sum(total.values())} requests, {bad} neither 2xx nor 4xx")
sys.exit(1 if bad or not total else 0)
PY
