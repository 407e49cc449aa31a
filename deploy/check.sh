#!/usr/bin/env bash
# Checks for the deployment files that cannot run here (no Docker engine):
#   1. docker-compose.yml against the Compose Specification's JSON schema;
#   2. `nginx -t` on the gateway template, rendered exactly as scripts/dev-up.sh renders it.
# Needs: check-jsonschema (pip install check-jsonschema), nginx, envsubst.
# The schema is looked up in ../shared/schemas/ next to the repository (or $COMPOSE_SCHEMA).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schema="${COMPOSE_SCHEMA:-$root/../shared/schemas/compose-spec.json}"
[[ -f "$schema" ]] || { echo "check.sh: compose schema not found at $schema (set COMPOSE_SCHEMA)" >&2; exit 2; }
command -v check-jsonschema >/dev/null || { echo "check.sh: pip install check-jsonschema" >&2; exit 2; }
command -v nginx >/dev/null || { echo "check.sh: apt-get install nginx-light" >&2; exit 2; }

failed=0
echo "== docker-compose.yml against the Compose schema"
if check-jsonschema --schemafile "$schema" "$root/docker-compose.yml"; then
    echo "ok: docker-compose.yml"
else
    failed=1
fi

# The compose file must at least interpolate with the example environment: every
# ${VAR:?...} it requires is present in .env.example.
echo "== .env.example provides every variable docker-compose.yml requires"
missing=0
while read -r name; do
    if ! grep -q "^$name=" "$root/.env.example"; then
        echo "missing in .env.example: $name"
        missing=1
    fi
done < <(grep -o '\${[A-Z_]*:?' "$root/docker-compose.yml" | sed 's/^\${//; s/:?$//' | sort -u)
if [[ "$missing" == 0 ]]; then echo "ok: .env.example"; else failed=1; fi

echo "== nginx -t on the gateway template"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if NEXUS_GATEWAY_LISTEN=127.0.0.1:18002 \
    NEXUS_AUTH_UPSTREAM=127.0.0.1:18001 \
    NEXUS_REALTIME_UPSTREAM_1=127.0.0.1:18003 \
    NEXUS_REALTIME_UPSTREAM_2=127.0.0.1:18004 \
    NEXUS_HTML_ROOT="$root/deploy/gateway/html" \
    NEXUS_ACCESS_LOG="$work/access.log" \
    NEXUS_ERROR_LOG="$work/error.log" \
    "$root/deploy/gateway/render-local.sh" "$work/nginx" >/dev/null &&
    nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf"; then
    echo "ok: nginx -t"
else
    failed=1
fi
if grep -n '\${NEXUS_' "$work/nginx/conf.d/nexus.conf" | grep -v '^\s*[0-9]*:\s*#'; then
    echo "a NEXUS_ variable was left unrendered"
    failed=1
fi

# The nginx image's entrypoint substitutes EVERY variable defined in the container, not
# just ours: render the template that way too, with a container-like environment, and
# require the same result (no nginx $variable may collide with an environment name).
echo "== the image's envsubst (all defined variables) renders what ours renders"
image_env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=gateway HOME=/root NGINX_VERSION=1.27.5
    PKG_RELEASE=1 NJS_VERSION=0.8.10 NJS_RELEASE=1 DYNPKG_RELEASE=1 PWD=/ SHLVL=1
    NEXUS_GATEWAY_LISTEN=8002 NEXUS_AUTH_UPSTREAM=auth-service:8001
    NEXUS_REALTIME_UPSTREAM_1=realtime-1:8003 NEXUS_REALTIME_UPSTREAM_2=realtime-2:8003
    NEXUS_HTML_ROOT=/usr/share/nginx/html NEXUS_ACCESS_LOG=/var/log/nginx/access.log
    NEXUS_ERROR_LOG=/var/log/nginx/error.log)
all_vars="$(env -i "${image_env[@]}" bash -c 'printf "\${%s} " $(compgen -e)')"
ours='${NEXUS_GATEWAY_LISTEN} ${NEXUS_AUTH_UPSTREAM} ${NEXUS_REALTIME_UPSTREAM_1} ${NEXUS_REALTIME_UPSTREAM_2} ${NEXUS_HTML_ROOT} ${NEXUS_ACCESS_LOG} ${NEXUS_ERROR_LOG}'
template="$root/deploy/gateway/templates/nexus.conf.template"
if diff <(env -i "${image_env[@]}" envsubst "$all_vars" <"$template") \
    <(env -i "${image_env[@]}" envsubst "$ours" <"$template") >/dev/null; then
    echo "ok: same rendering"
else
    echo "the nginx image would substitute more than the NEXUS_ variables:"
    diff <(env -i "${image_env[@]}" envsubst "$all_vars" <"$template") \
        <(env -i "${image_env[@]}" envsubst "$ours" <"$template") || true
    failed=1
fi

echo "== shell scripts parse"
for script in "$root/scripts/dev-up.sh" "$root/deploy/e2e/run.sh" "$root/deploy/gateway/render-local.sh" "$0"; do
    bash -n "$script" || failed=1
done

if [[ "$failed" == 0 ]]; then
    echo "deploy checks passed (compose schema, .env.example, nginx -t, image rendering, shell syntax)"
else
    echo "deploy checks FAILED (see above)"
fi
exit "$failed"
