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
if [ "$profile" = release ]; then cargo build --release --workspace --bins --locked -q
else cargo build --workspace --bins --locked -q; fi
# shellcheck source=scripts/lib/auth_stack.sh
. scripts/lib/auth_stack.sh
start_auth_stack "$profile" "${SOAK_STORE_PORT:-29161}" "${SOAK_AUTH_PORT:-29162}" soak
workers_pids=()

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

echo "==> soak: $workers workers x ${seconds}s against $profile auth-service $auth_url"
until=$(( $(date +%s) + seconds ))
for i in $(seq 1 "$workers"); do
  NEXUS_AUTH_URL="$auth_url" NEXUS_SUPABASE_SECRET="$stack_secret" SOAK_UNTIL="$until" \
    python3 scripts/soak_worker.py >"$stack_logs/worker-$i.out" 2>&1 &
  workers_pids+=($!)
  stack_pids+=($!)
done
step=$(( seconds / 10 > 0 ? seconds / 10 : 1 ))
sample "t=0s (start)"
for n in $(seq 1 10); do
  sleep "$step"
  label="t=$(( n * step ))s"; [ "$n" = 5 ] && label+=" (middle)"; [ "$n" = 10 ] && label+=" (end)"
  sample "$label"
  grep -h UNEXPECTED "$stack_logs"/worker-*.out 2>/dev/null | tail -5 || true
done
for pid in "${workers_pids[@]}"; do wait "$pid" || true; done
if grep -q Traceback "$stack_logs"/worker-*.out; then
  echo "a soak worker failed:" >&2; grep -h -A20 Traceback "$stack_logs"/worker-*.out | head -40 >&2; exit 1
fi

echo "==> responses by operation and status"
python3 - "$stack_logs" <<'PY'
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
