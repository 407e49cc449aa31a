#!/usr/bin/env bash
# The cost of spreading: room fan-out through the gateway with 1, 2 and 4 realtime
# instances (BENCHMARKS.md, "Many instances"). For each count it starts the launcher
# (release binaries by default; 1 auth-service, 1 session-store: not on the hot path),
# then runs e2e/bench/load.mjs through the gateway from 64 loopback addresses (so the
# sticky hash spreads members over every instance): MEMBERS sockets in one Dark Room,
# 4 senders, SECONDS per run, saturated (RATE=0) and at a fixed rate. One JSON line per
# run on stdout: deliveries/s and p50/p99 latency (send -> receive) per load process.
#
# On one 2-core box this is CPU-bound: more instances do not add cores, they add the relay
# (each message crosses RabbitMQ once per other instance with members), so the figure is
# what spreading costs, not a speed-up.
#
# usage: deploy/scale/bench.sh [--no-build] > scale-results.jsonl
# env:   INSTANCES ("1 2 4"), MEMBERS (2000), SECONDS_PER_RUN (15), FIXED_RATE (5 msg/s per
#        sender), PROFILE (release | debug), SCALE_BENCH_PORT_BASE (26300)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '[scale-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

profile="${PROFILE:-release}"
instances_list="${INSTANCES:-1 2 4}"
members="${MEMBERS:-2000}"
seconds="${SECONDS_PER_RUN:-15}"
fixed_rate="${FIXED_RATE:-5}"
base="${SCALE_BENCH_PORT_BASE:-26300}"
release_flag=()
[[ "$profile" == release ]] && release_flag=(--release)

if [[ "${1:-}" != "--no-build" ]]; then
    log "building the workspace binaries ($profile)"
    (cd "$root" && cargo build --workspace --bins "${release_flag[@]}")
fi
[[ -d "$root/e2e/node_modules/socket.io-client" ]] || npm ci --prefix "$root/e2e" --no-audit --no-fund >&2

output_dir="$root/test-output/scale-bench"
rm -rf "$output_dir"
mkdir -p "$output_dir"
addresses="$(seq -s, -f '127.0.2.%g' 1 64)"
ulimit -n 20000 2>/dev/null || true

stack_pid=""
database=""
stop_stack() {
    if [[ -n "$stack_pid" ]] && kill -0 "$stack_pid" 2>/dev/null; then
        kill -TERM "$stack_pid" 2>/dev/null || true
        wait "$stack_pid" 2>/dev/null || true
    fi
    stack_pid=""
    if [[ -n "$database" ]]; then
        psql "postgres://postgres@127.0.0.1:5432/postgres" -Xq \
            -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for instances in $instances_list; do
    run_id="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    database="nexus_scale_bench_$run_id"
    secret="bench-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    log "$instances realtime instance(s): starting the stack"
    (
        export NEXUS_REALTIME_INSTANCES="$instances" NEXUS_AUTH_INSTANCES=1 NEXUS_STORE_INSTANCES=1
        export NEXUS_GATEWAY_PORT=$((base + 2)) NEXUS_AUTH_PORT=$((base + 1))
        export NEXUS_REALTIME_PORT_1=$((base + 3)) NEXUS_STORE_PORT=$((base + 51))
        export NEXUS_DEV_DIR="$output_dir/stack-$instances"
        export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
        export SESSION_EVENTS_EXCHANGE="nexus.sessions.bench.$run_id" ROOMS_EXCHANGE="nexus.rooms.bench.$run_id"
        export SUPABASE_JWT_SECRET="$secret" RUST_LOG=warn
        # The abuse limits would throttle the load generator, not measure the system.
        export REALTIME_CONNECTIONS_PER_IP=100000 REALTIME_EVENTS_PER_SECOND=100000 REALTIME_EVENT_BURST=100000 \
        REALTIME_SOCKETS_PER_USER=100000 REALTIME_CONNECTS_PER_SECOND_PER_IP=100000 REALTIME_CONNECT_BURST=100000
        unset SUPABASE_URL SUPABASE_JWKS_URL
        exec "$root/scripts/dev-up.sh" --no-build "${release_flag[@]}"
    ) >"$output_dir/dev-up-$instances.log" 2>&1 &
    stack_pid=$!
    deadline=$((SECONDS + 180))
    until [[ -f "$output_dir/stack-$instances/ready" ]]; do
        if ! kill -0 "$stack_pid" 2>/dev/null || ((SECONDS > deadline)); then
            log "the stack did not start (see $output_dir/dev-up-$instances.log)"
            exit 1
        fi
        sleep 0.5
    done
    gateway="http://127.0.0.1:$((base + 2))"
    supabase="$(SUPABASE_JWT_SECRET="$secret" "${CARGO_TARGET_DIR:-$root/target}/$profile/auth-service" dev-token --name Bench --ttl 1h)"
    token="$(curl -fsS -X POST -H "Authorization: Bearer $supabase" -H "Origin: http://localhost:$((base + 2))" \
        -H 'Content-Type: application/json' -d '{}' "$gateway/api/auth/session/bridge" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))')"

    for rate in 0 "$fixed_rate"; do
        log "$instances instance(s), $members members, rate ${rate} (0 = saturated), ${seconds}s"
        room="darkroom:scale-bench-$instances-$rate-$run_id"
        half=$((members / 2))
        outputs=()
        pids=()
        for part in 1 2; do
            out="$output_dir/load-$instances-$rate-$part.json"
            # Each process gets half the addresses, so the two never share a source address.
            part_addresses="$(printf '%s' "$addresses" | tr ',' '\n' | awk -v p="$part" 'NR % 2 == p % 2' | paste -sd,)"
            URL="$gateway" TOKEN="$token" MODE=fanout MEMBERS="$half" SENDERS=2 SECONDS="$seconds" \
                RATE="$rate" ROOM="$room" LOCAL_ADDRS="$part_addresses" CONC=50 \
                node "$root/e2e/bench/load.mjs" >"$out" &
            pids+=($!)
            outputs+=("$out")
        done
        wait "${pids[@]}" || true
        node -e '
          const fs = require("fs");
          const [instances, members, rate, ...files] = process.argv.slice(1);
          const loads = files.map((f) => fs.readFileSync(f, "utf8").trim().split("\n").map(JSON.parse).pop());
          const rates = loads.map((l) => l.deliveries_per_second || 0);
          console.log(JSON.stringify({
            test: "scale-fanout", instances: Number(instances), members: Number(members),
            rate_per_sender: Number(rate), senders: 4,
            deliveries_per_second: Math.round(rates.reduce((a, b) => a + b, 0)),
            p50_ms: loads.map((l) => l.p50_ms == null ? null : Math.round(l.p50_ms)),
            p99_ms: loads.map((l) => l.p99_ms == null ? null : Math.round(l.p99_ms)),
            sent: loads.reduce((a, l) => a + (l.sent || 0), 0),
            delivered: loads.reduce((a, l) => a + (l.delivered || 0), 0),
            load: loads,
          }));
        ' "$instances" "$members" "$rate" "${outputs[@]}"
    done
    stop_stack
done
log "done"
