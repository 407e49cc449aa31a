#!/bin/sh
# Entry point of the rabbitmq service in docker-compose.yml: refuses development passwords
# in production, starts the image's own entrypoint (which runs the broker), and once the
# broker is up creates or re-passwords the services' least-privilege users (users.sh),
# then marks the container ready for its health check.
set -eu

# The checks, mounted at /nexus-checks/ in compose, one folder up in the repository.
checks=/nexus-checks/refuse-dev-secrets.sh
[ -f "$checks" ] || checks="$(dirname "$0")/../refuse-dev-secrets.sh"
# shellcheck source=../refuse-dev-secrets.sh
. "$checks"
refuse_dev_secrets RABBITMQ_DEFAULT_PASS NEXUS_AUTH_AMQP_PASSWORD NEXUS_REALTIME_AMQP_PASSWORD
# `entrypoint.sh --check`: only the checks above (deploy/compose-test/ runs it).
[ "${1:-}" = "--check" ] && exit 0

# The image's entrypoint drops root for the rabbitmq user; do the same first, so
# rabbitmqctl in users.sh uses the broker's Erlang cookie.
if [ "$(id -u)" = 0 ]; then
    for step_down in su-exec gosu; do
        if command -v "$step_down" >/dev/null 2>&1; then
            exec "$step_down" rabbitmq "$0" "$@"
        fi
    done
fi

rm -f /tmp/nexus-users-ready
(
    if /nexus/users.sh --wait; then
        touch /tmp/nexus-users-ready
    else
        echo "nexus: creating the service users failed; the health check stays red" >&2
    fi
) &

exec docker-entrypoint.sh "$@"
