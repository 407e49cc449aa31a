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

cargo build --workspace --bins --locked -q
# shellcheck source=scripts/lib/auth_stack.sh
. scripts/lib/auth_stack.sh
start_auth_stack debug "${SCHEMATHESIS_STORE_PORT:-29151}" "${SCHEMATHESIS_AUTH_PORT:-29152}" schemathesis

echo "==> schemathesis $version against $auth_url"
NEXUS_AUTH_URL="$auth_url" NEXUS_SUPABASE_SECRET="$stack_secret" \
PYTHONPATH="scripts/schemathesis" SCHEMATHESIS_HOOKS=nexus_hooks \
  "$venv/bin/schemathesis" run "$auth_url/api/auth/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --seed "${SCHEMATHESIS_SEED:-8}" \
    --workers 2 \
    --warnings off \
    --request-timeout 10

# Proof that the cases got past authentication: the sessions the hooks
# bridged and how many of them generated calls (logout, DELETE) then ended.
psql -h 127.0.0.1 -U postgres -d "$stack_database" -Atc \
  "SELECT 'sessions bridged for cases: ' || count(*) || ', ended by generated calls: ' \
          || count(revoked_at) || ', refresh rotations: ' \
          || (SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL) \
   FROM user_sessions"
