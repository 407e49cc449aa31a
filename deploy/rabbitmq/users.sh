#!/bin/sh
# The broker users the services connect as (least privilege, never the administrator):
#
#   nexus-auth      declares and publishes to the session-events exchange, nothing else;
#   nexus-realtime  declares the session-events and rooms exchanges, publishes to the rooms
#                   exchange, and declares, binds and consumes its own server-named
#                   (amq.gen-*) exclusive queues.
#
# Exchange names match nexus.sessions / nexus.rooms and any name that starts with them
# followed by a dot (SESSION_EVENTS_EXCHANGE / ROOMS_EXCHANGE overrides such as the
# tests' per-run names). Passwords: NEXUS_AUTH_AMQP_PASSWORD, NEXUS_REALTIME_AMQP_PASSWORD;
# set on every run, so changing them in .env and restarting the broker rotates them.
#
# usage: users.sh [--wait]    (--wait: first wait up to 120 s for the broker to run)
# Runs wherever rabbitmqctl reaches the node: inside the compose container
# (entrypoint.sh), or against CI's broker (deploy/compose-test/).
set -eu

vhost="${NEXUS_AMQP_VHOST:-/}"
auth_password="${NEXUS_AUTH_AMQP_PASSWORD:?NEXUS_AUTH_AMQP_PASSWORD is not set}"
realtime_password="${NEXUS_REALTIME_AMQP_PASSWORD:?NEXUS_REALTIME_AMQP_PASSWORD is not set}"
auth_user="${NEXUS_AUTH_AMQP_USER:-nexus-auth}"
realtime_user="${NEXUS_REALTIME_AMQP_USER:-nexus-realtime}"

sessions='nexus\.sessions(\..+)?'
rooms='nexus\.rooms(\..+)?'
private_queues='amq\.gen-.*'

if [ "${1:-}" = "--wait" ]; then
    # The node may not even accept CLI connections yet: retry, 120 s at most.
    waited=0
    until rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do
        waited=$((waited + 12))
        if [ "$waited" -ge 120 ]; then
            echo "nexus: RabbitMQ did not start within 120 s" >&2
            exit 1
        fi
        sleep 2
    done
fi

# put_user NAME PASSWORD CONFIGURE WRITE READ
put_user() {
    if rabbitmqctl -q list_users --no-table-headers 2>/dev/null | cut -f1 | grep -qx "$1"; then
        printf '%s' "$2" | rabbitmqctl -q change_password "$1" >/dev/null
    else
        printf '%s' "$2" | rabbitmqctl -q add_user "$1" >/dev/null
    fi
    rabbitmqctl -q set_user_tags "$1" >/dev/null
    rabbitmqctl -q set_permissions -p "$vhost" "$1" "$3" "$4" "$5" >/dev/null
    echo "nexus: broker user $1 ready"
}

put_user "$auth_user" "$auth_password" "^${sessions}\$" "^${sessions}\$" '^$'
put_user "$realtime_user" "$realtime_password" \
    "^(${sessions}|${rooms}|${private_queues})\$" \
    "^(${rooms}|${private_queues})\$" \
    "^(${sessions}|${rooms}|${private_queues})\$"
