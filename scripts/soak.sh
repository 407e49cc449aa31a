#!/usr/bin/env bash
# Soak test of auth-service + session-store (release build): SOAK_WORKERS
# processes (default 4) of mixed bridge / refresh / sessions / revoke / logout
# traffic for SOAK_SECONDS (default 600) against a real Postgres and RabbitMQ.
# Prints every response that is neither 2xx nor 4xx as it happens, RSS and
# open file descriptors of each service every SOAK_SECONDS/10 (start, middle
# and end included), and request counts per operation and status at the end.
# Exits non-zero on any 5xx or connection failure, and when a service's RSS
# grew more than SOAK_MAX_RSS_GROWTH_PCT (default 10) from the end of the
# warm-up (the first fifth of the run) to the end. The refresh-secret cache is
# capped at SOAK_SECRET_CACHE_SIZE (default 2000) so that it fills during the
# warm-up: growth after that is not a cache filling up, it is a leak.
#
#   SOAK_SECONDS=60 scripts/soak.sh      # a quick check
#   scripts/soak.sh                      # the 10-minute run (BENCHMARKS.md)
#   SOAK_BUILD=0 scripts/soak.sh         # use the binaries already in the target dir
#
# Ports: SOAK_STORE_PORT / SOAK_AUTH_PORT (default 29161 / 29162).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SOAK_SECONDS:-600}"
workers="${SOAK_WORKERS:-4}"
profile="${SOAK_PROFILE:-release}"
if [ "${SOAK_BUILD:-1}" = 0 ]; then :   # binaries already built
elif [ "$profile" = release ]; then cargo build --release --workspace --bins --locked -q
else cargo build --workspace --bins --locked -q; fi
# shellcheck source=scripts/lib/auth_stack.sh
. scripts/lib/auth_stack.sh
export REFRESH_SECRET_CACHE_SIZE="${SOAK_SECRET_CACHE_SIZE:-2000}"
start_auth_stack "$profile" "${SOAK_STORE_PORT:-29161}" "${SOAK_AUTH_PORT:-29162}" soak
workers_pids=()

declare -A warm_rss last_rss
sample() { # label [warm]
  local line="$1"
  for entry in "session-store:$store_pid" "auth-service:$auth_pid"; do
    local name="${entry%%:*}" pid="${entry##*:}"
    local rss fds
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    last_rss[$name]=$rss
    [ "${2:-}" = warm ] && warm_rss[$name]=$rss
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
  if [ "$n" = 2 ]; then label+=" (warmed up)"; sample "$label" warm; else sample "$label"; fi
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

echo "==> memory after warm-up (aim: within ${SOAK_MAX_RSS_GROWTH_PCT:-10}%)"
grew=0
for name in session-store auth-service; do
  pct=$(( (last_rss[$name] - warm_rss[$name]) * 100 / warm_rss[$name] ))
  printf '  %-14s %6d KiB -> %6d KiB (%+d%%)\n' "$name" "${warm_rss[$name]}" "${last_rss[$name]}" "$pct"
  [ "$pct" -gt "${SOAK_MAX_RSS_GROWTH_PCT:-10}" ] && grew=1
done
if [ "$grew" = 1 ]; then echo "memory grew past the aim after warm-up" >&2; exit 1; fi
