#!/usr/bin/env bash
# Static checks of the deployment files (no Docker engine here; deploy/compose-test/ boots
# the compose topology from the binaries, deploy/monitoring/test.sh runs Prometheus):
#   1. docker-compose.yml against the Compose Specification's JSON schema;
#   2. `nginx -t` on the gateway template, rendered exactly as scripts/dev-up.sh renders it,
#      and the image's rendering (every defined variable) equal to ours;
#   3. the compose renderer's own tests and the deployment-review rules on the model;
#   4. the Kubernetes manifests, strictly, against a pinned Kubernetes version;
#   5. the Prometheus config and alert rules (promtool), the Grafana dashboard's JSON.
# Needs (.ci/run installs them, pinned): check-jsonschema, kubernetes-validate, PyYAML,
# nginx, envsubst, promtool (Debian's prometheus package).
# The Compose schema is the one check-jsonschema ships (--builtin-schema
# vendor.compose-spec), so the pinned check-jsonschema version pins the schema: no file
# outside the repository, no download.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubernetes_version="${KUBERNETES_VERSION:-1.34.0}"
for tool in check-jsonschema kubernetes-validate promtool nginx envsubst python3; do
    command -v "$tool" >/dev/null || { echo "check.sh: $tool is missing (.ci/run installs it)" >&2; exit 2; }
done

failed=0
echo "== docker-compose.yml against the Compose schema"
if check-jsonschema --builtin-schema vendor.compose-spec "$root/docker-compose.yml"; then
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
if NEXUS_GATEWAY_LISTEN=127.0.0.1:26802 \
    NEXUS_AUTH_UPSTREAMS=127.0.0.1:26801,127.0.0.1:26811 \
    NEXUS_REALTIME_UPSTREAMS=127.0.0.1:26803,127.0.0.1:26804,127.0.0.1:26805 \
    NEXUS_CORS_ORIGINS=http://localhost:8002 \
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
image_env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=gateway HOME=/root NGINX_VERSION=1.30.4
    PKG_RELEASE=1 NJS_VERSION=0.9.1 NJS_RELEASE=1 DYNPKG_RELEASE=1 PWD=/ SHLVL=1
    NEXUS_GATEWAY_LISTEN=8002 NEXUS_AUTH_UPSTREAMS=auth-service:8001
    NEXUS_REALTIME_UPSTREAMS=realtime-1:8003,realtime-2:8003 NEXUS_RESOLVER=127.0.0.11
    NEXUS_RESOLVER_VALID=10s NEXUS_CORS_ORIGINS=http://localhost:8002
    NEXUS_HTML_ROOT=/usr/share/nginx/html NEXUS_ACCESS_LOG=/var/log/nginx/access.log
    NEXUS_ERROR_LOG=/var/log/nginx/error.log)
all_vars="$(env -i "${image_env[@]}" bash -c 'printf "\${%s} " $(compgen -e)')"
ours='${NEXUS_GATEWAY_LISTEN} ${NEXUS_HTML_ROOT} ${NEXUS_ACCESS_LOG} ${NEXUS_ERROR_LOG}'
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
# The scripts that run inside Alpine/Debian images are POSIX sh (busybox, dash).
for script in "$root/deploy/gateway/nexus-upstreams.sh" "$root/deploy/refuse-dev-secrets.sh" \
    "$root"/deploy/postgres/initdb/*.sh "$root"/deploy/rabbitmq/*.sh; do
    if command -v dash >/dev/null; then dash -n "$script" || failed=1; else sh -n "$script" || failed=1; fi
done

echo "== the compose renderer's tests and the deployment-review rules"
if python3 -m unittest discover -s "$root/deploy/compose-test" -p 'test_*.py' -q &&
    python3 "$root/deploy/compose-test/run.py" --policy-only; then
    echo "ok: compose model and policy"
else
    failed=1
fi

echo "== Kubernetes manifests (kubernetes-validate --strict, Kubernetes $kubernetes_version)"
if kubernetes-validate --strict --quiet -k "$kubernetes_version" "$root"/deploy/k8s/*.yaml; then
    echo "ok: deploy/k8s"
else
    failed=1
fi

echo "== Prometheus config and alert rules (promtool), Grafana dashboard"
# As compose mounts it: the config beside its rules, the compose target files as targets/.
mkdir -p "$work/prometheus"
cp -r "$root/deploy/monitoring/prometheus.yml" "$root/deploy/monitoring/rules" "$work/prometheus/"
cp -r "$root/deploy/monitoring/targets/compose" "$work/prometheus/targets"
if promtool check config "$work/prometheus/prometheus.yml" &&
    promtool check rules "$root"/deploy/monitoring/rules/*.yml &&
    promtool test rules "$root"/deploy/monitoring/rules/tests/*.yml &&
    python3 -c 'import json, sys; [json.load(open(p)) for p in sys.argv[1:]]' \
        "$root"/deploy/monitoring/grafana/dashboards/*.json; then
    echo "ok: monitoring"
else
    failed=1
fi

if [[ "$failed" == 0 ]]; then
    echo "deploy checks passed (compose schema, .env.example, nginx -t, image rendering, shell syntax, compose policy, Kubernetes, monitoring)"
else
    echo "deploy checks FAILED (see above)"
fi
exit "$failed"
