#!/bin/sh
# The data stores' side of nexus_common::dev_secrets: with COOKIE_SECURE=true (production,
# the default) refuse to set up Postgres or RabbitMQ with a published development value
# (insecure-dev-..., change-me...). Sourced by deploy/postgres/initdb/ and
# deploy/rabbitmq/entrypoint.sh; names the variable, never the value.
#
# usage: . refuse-dev-secrets.sh; refuse_dev_secrets VAR...
refuse_dev_secrets() {
    case "$(printf '%s' "${COOKIE_SECURE:-true}" | tr 'A-Z' 'a-z')" in
        false | 0 | no | off) return 0 ;;
    esac
    for name in "$@"; do
        eval "value=\${$name:-}"
        # shellcheck disable=SC2154 # set by the eval above
        case "$(printf '%s' "$value" | tr 'A-Z' 'a-z')" in
            *insecure-dev* | *change-me* | *changeme*)
                echo "refusing to start: $name holds a published development value while COOKIE_SECURE=true; set a real secret (openssl rand -hex 32) before the first start" >&2
                return 1
                ;;
        esac
    done
    return 0
}
