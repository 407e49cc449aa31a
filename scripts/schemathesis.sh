#!/usr/bin/env bash
# Property-based contract testing of auth-service's HTTP API (schemathesis,
# PyPI) against a live auth-service with a real session-store, Postgres and
# RabbitMQ: every operation of /api/auth/openapi.json, a bounded number of
# generated cases each, with real credentials from scripts/schemathesis/
# nexus_hooks.py; checks not_a_server_error, status_code_conformance,
# content_type_conformance and response_schema_conformance. Zero failures or
# this exits non-zero. scripts/test.sh runs it; it takes a minute or two.
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 25 per operation),
# SCHEMATHESIS_STORE_PORT / SCHEMATHESIS_AUTH_PORT (default 29151/29152).
# schemathesis is installed (pinned) into a venv under ~/.cache only when
# missing or of another version.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/nexus-ci/schemathesis-$version}"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  echo "==> installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

target="${CARGO_TARGET_DIR:-target}"
cargo build --workspace --bins --locked -q
store_port="${SCHEMATHESIS_STORE_PORT:-29151}"
auth_port="${SCHEMATHESIS_AUTH_PORT:-29152}"
database="nexus_schemathesis_$$"
logs="$(mktemp -d)"
secret="schemathesis-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() { # url-or-port, what
  for _ in $(seq 1 100); do
    if [[ "$1" == http* ]]; then curl -fs -o /dev/null "$1" && return 0
    else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; fi
    sleep 0.2
  done
  echo "$2 did not come up; its log:" >&2; cat "$logs"/*.log >&2; return 1
}

DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
SESSION_STORE_LISTEN="127.0.0.1:$store_port" RUST_LOG=warn \
  "$target/debug/session-store" >"$logs/store.log" 2>&1 &
pids+=($!)
wait_for "$store_port" session-store

AUTH_LISTEN="127.0.0.1:$auth_port" SESSION_STORE_URL="http://127.0.0.1:$store_port" \
SUPABASE_JWT_SECRET="$secret" SESSION_EVENTS_EXCHANGE=nexus.sessions.schemathesis \
COOKIE_SECURE=false RUST_LOG=warn \
AUTH_BRIDGE_RATE_PER_SECOND=0 AUTH_BRIDGE_GLOBAL_RATE_PER_SECOND=0 \
AUTH_REFRESH_RATE_PER_SECOND=0 AUTH_REFRESH_GLOBAL_RATE_PER_SECOND=0 \
AUTH_LOGOUT_RATE_PER_SECOND=0 AUTH_LOGOUT_GLOBAL_RATE_PER_SECOND=0 \
  "$target/debug/auth-service" >"$logs/auth.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$auth_port/readyz" auth-service

echo "==> schemathesis $version against http://127.0.0.1:$auth_port"
NEXUS_AUTH_URL="http://127.0.0.1:$auth_port" NEXUS_SUPABASE_SECRET="$secret" \
PYTHONPATH="scripts/schemathesis" SCHEMATHESIS_HOOKS=nexus_hooks \
  "$venv/bin/schemathesis" run "http://127.0.0.1:$auth_port/api/auth/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --seed "${SCHEMATHESIS_SEED:-8}" \
    --workers 2 \
    --warnings off \
    --request-timeout 10

# Proof that the cases got past authentication: the sessions the hooks
# bridged and how many of them generated calls (logout, DELETE) then ended.
psql -h 127.0.0.1 -U postgres -d "$database" -Atc \
  "SELECT 'sessions bridged for cases: ' || count(*) || ', ended by generated calls: ' \
          || count(revoked_at) || ', refresh rotations: ' \
          || (SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL) \
   FROM user_sessions"
