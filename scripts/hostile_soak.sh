#!/usr/bin/env bash
# Hostile soak of realtime-service (issue 9): normal chat traffic alone
# (baseline), then next to hostile clients (oversized WebSocket frames before
# and after CONNECT, floods of joins to fresh rooms, sockets that never
# read), each phase SOAK_SECONDS/2. Prints the normal clients' p50/p99
# send-to-receipt latency and missing deliveries per phase, and
# realtime-service's RSS and open fds ten times over the run.
#
#   SOAK_SECONDS=20 SOAK_PROFILE=debug scripts/hostile_soak.sh   # a quick check
#   scripts/hostile_soak.sh                                      # the 10-minute run (release)
#
# Ports: SOAK_STORE_PORT / SOAK_AUTH_PORT / SOAK_REALTIME_PORT
# (default 30161 / 30162 / 30163). Needs `npm ci --prefix e2e`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SOAK_SECONDS:-600}"
profile="${SOAK_PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --release --workspace --bins --locked -q
else cargo build --workspace --bins --locked -q; fi
# shellcheck source=scripts/lib/auth_stack.sh
. scripts/lib/auth_stack.sh
start_auth_stack "$profile" "${SOAK_STORE_PORT:-30161}" "${SOAK_AUTH_PORT:-30162}" hostile
target="${CARGO_TARGET_DIR:-target}"
realtime_port="${SOAK_REALTIME_PORT:-30163}"
REALTIME_LISTEN="127.0.0.1:$realtime_port" SESSION_STORE_URL="http://127.0.0.1:${SOAK_STORE_PORT:-30161}" \
AUTH_JWKS_URL="$auth_url/api/auth/.well-known/jwks.json" SUPABASE_JWT_SECRET="$stack_secret" \
SESSION_EVENTS_EXCHANGE="nexus.sessions.hostile" ROOMS_EXCHANGE="nexus.rooms.hostile.$$" \
DARKROOM_ALIAS_KEY="hostile-soak-alias-key-0123456789abcdef" COOKIE_SECURE=false RUST_LOG=warn \
  "$target/$profile/realtime-service" >"$stack_logs/realtime.log" 2>&1 &
realtime_pid=$!; stack_pids+=("$realtime_pid")
wait_for "http://127.0.0.1:$realtime_port/readyz" realtime-service

# Access tokens: 20 normal users (5 sockets each at most) and 10 hostile ones.
mint() { # count
  NEXUS_AUTH_URL="$auth_url" NEXUS_SUPABASE_SECRET="$stack_secret" python3 - "$1" <<'PY'
import json, os, sys, urllib.request
sys.path.insert(0, "scripts/schemathesis")
from supabase_token import supabase_token
tokens = []
for _ in range(int(sys.argv[1])):
    request = urllib.request.Request(
        os.environ["NEXUS_AUTH_URL"] + "/api/auth/session/bridge", method="POST", data=b"{}",
        headers={"Authorization": f"Bearer {supabase_token()}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        tokens.append(json.loads(response.read())["access_token"])
print(",".join(tokens))
PY
}
normal_tokens="$(mint 20)"
hostile_tokens="$(mint 10)"

sample() { # label
  local rss fds
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$realtime_pid/status")
  fds=$(find "/proc/$realtime_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  printf '%s  realtime-service rss=%6d KiB fds=%4d\n' "$1" "$rss" "$fds"
}

echo "==> hostile soak: ${seconds}s ($((seconds / 2))s baseline, $((seconds / 2))s hostile) against $profile realtime-service"
# Normal and hostile clients in two Node processes: the hostiles' work never
# delays the event loop that measures the normal clients' latency.
control_dir="$stack_logs/soak-control"; mkdir -p "$control_dir"
for role in normal hostile; do
  ROLE="$role" CONTROL_DIR="$control_dir" URL="http://127.0.0.1:$realtime_port" \
  TOKENS="$normal_tokens" HOSTILE_TOKENS="$hostile_tokens" PHASE_SECONDS="$((seconds / 2))" \
    node e2e/hostile-soak.mjs >"$stack_logs/soak-$role.out" 2>&1 &
  stack_pids+=("$!")
  [ "$role" = normal ] && soak_pid=$! || hostile_pid=$!
done
step=$(( seconds / 10 > 0 ? seconds / 10 : 1 ))
sample "t=0s (start)"
for n in $(seq 1 10); do
  sleep "$step"
  label="t=$(( n * step ))s"; [ "$n" = 5 ] && label+=" (hostiles start)"; [ "$n" = 10 ] && label+=" (end)"
  sample "$label"
done
for pid_role in "$soak_pid:normal" "$hostile_pid:hostile"; do
  wait "${pid_role%%:*}" || {
    echo "the ${pid_role#*:} soak client failed:" >&2; cat "$stack_logs/soak-${pid_role#*:}.out" >&2; exit 1; }
done
echo "==> normal clients, per phase (and what the hostile clients did)"
cat "$stack_logs/soak-normal.out" "$stack_logs/soak-hostile.out"
echo "==> realtime-service metrics (drops and refusals)"
curl -fs "http://127.0.0.1:$realtime_port/metrics" | grep -E '^realtime_(deliveries_dropped|auth_refusals|connections |rooms |relay_dropped|error_acks)' || true
sample "after"
