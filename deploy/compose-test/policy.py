"""Deployment-review rules, checked on the rendered compose model (run.py, check.sh).

Each rule is one finding of the deployment review (deploy/README.md, "Review findings")
that a later edit could bring back; `check` returns what is broken, in words an operator
understands. The rules read the model as Compose renders it, plus the Dockerfiles and the
gateway's nginx.conf they depend on.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

LOCAL_IMAGE = re.compile(r"^nexus/")
# A pinned tag names at least major.minor (postgres:17.6-alpine, v3.5.0): no `latest`,
# no bare major (`rabbitmq:4-management-alpine`), no tag at all.
PINNED_TAG = re.compile(r":v?\d+\.\d+[\w.-]*$")


def _images_built(model) -> dict[str, list[str]]:
    built: dict[str, list[str]] = {}
    for service in model.services.values():
        if "build" in service.raw:
            built.setdefault(service.raw.get("image", service.name), []).append(service.name)
    return built


def built_images_are_never_pulled(model, root: Path) -> list[str]:
    problems = []
    built = _images_built(model)
    for service in model.services.values():
        image = service.raw.get("image", "")
        policy = service.raw.get("pull_policy")
        if "build" in service.raw and policy != "build":
            problems.append(f"{service.name} builds {image} but pull_policy is {policy!r}, not 'build'")
        if "build" not in service.raw and LOCAL_IMAGE.match(image):
            if image not in built:
                problems.append(f"{service.name} uses {image}, which no service builds")
            if policy != "never":
                problems.append(f"{service.name} uses the locally built {image} without pull_policy: never")
    return problems


def each_image_is_built_once(model, root: Path) -> list[str]:
    return [
        f"{image} is built by {', '.join(services)}: concurrent builds of one tag can fail"
        for image, services in _images_built(model).items()
        if len(services) > 1
    ]


def upstream_images_are_pinned(model, root: Path) -> list[str]:
    return [
        f"{service.name} uses {service.raw.get('image')!r}: pin a supported major.minor[.patch] tag"
        for service in model.services.values()
        if "build" not in service.raw
        and not LOCAL_IMAGE.match(service.raw.get("image", ""))
        and not PINNED_TAG.search(service.raw.get("image", ""))
    ]


def every_service_rotates_logs(model, root: Path) -> list[str]:
    problems = []
    for service in model.services.values():
        logging = service.raw.get("logging") or {}
        options = logging.get("options") or {}
        if logging.get("driver") not in ("json-file", "local") or "max-size" not in options or "max-file" not in options:
            problems.append(f"{service.name} has no log rotation (logging: json-file with max-size and max-file)")
    return problems


def every_service_has_a_grace_period(model, root: Path) -> list[str]:
    return [
        f"{service.name} has no stop_grace_period"
        for service in model.services.values()
        if not service.profiles and "stop_grace_period" not in service.raw
    ]


def sockets_have_file_descriptors(model, root: Path) -> list[str]:
    problems = []
    for service in model.services.values():
        if not (service.name.startswith("realtime") or service.name == "gateway"):
            continue
        nofile = ((service.raw.get("ulimits") or {}).get("nofile")) or {}
        soft = nofile.get("soft", nofile) if isinstance(nofile, dict) else nofile
        if not isinstance(soft, int) or soft < 65536:
            problems.append(f"{service.name} needs a nofile ulimit of at least 65536 (has {soft!r})")
    nginx_conf = (root / "deploy/gateway/nginx.conf").read_text()
    connections = re.search(r"worker_connections\s+(\d+);", nginx_conf)
    rlimit = re.search(r"worker_rlimit_nofile\s+(\d+);", nginx_conf)
    gateway = model.services.get("gateway")
    gateway_nofile = ((gateway.raw.get("ulimits") or {}).get("nofile") or {}) if gateway else {}
    if not connections or int(connections.group(1)) < 16384:
        problems.append("deploy/gateway/nginx.conf: worker_connections below 16384 (two per WebSocket)")
    if not rlimit or (isinstance(gateway_nofile, dict) and int(rlimit.group(1)) > gateway_nofile.get("hard", 0)):
        problems.append("deploy/gateway/nginx.conf: worker_rlimit_nofile missing or above the gateway's nofile ulimit")
    return problems


def gateway_address_is_reserved(model, root: Path) -> list[str]:
    gateway = model.services.get("gateway")
    networks = (gateway.raw.get("networks") or {}) if gateway else {}
    problems = []
    for network, settings in networks.items():
        address = (settings or {}).get("ipv4_address")
        if not address:
            continue
        config = ((model.raw.get("networks") or {}).get(network) or {}).get("ipam", {}).get("config", [{}])[0]
        subnet, ip_range = config.get("subnet"), config.get("ip_range")
        if not subnet or ipaddress.ip_address(address) not in ipaddress.ip_network(subnet):
            problems.append(f"the gateway's fixed address {address} is not in the subnet {subnet}")
        if not ip_range:
            problems.append(f"network {network} has no ip_range: Docker may give {address} to another container")
        elif ipaddress.ip_address(address) in ipaddress.ip_network(ip_range):
            problems.append(f"the gateway's fixed address {address} lies inside the dynamic ip_range {ip_range}")
    return problems


def postgres_health_is_over_tcp(model, root: Path) -> list[str]:
    postgres = model.services.get("postgres")
    test = " ".join(postgres.raw.get("healthcheck", {}).get("test", [])) if postgres else ""
    if "pg_isready" in test and "-h" in test.split():
        return []
    return ["postgres health check must use TCP (pg_isready -h 127.0.0.1), as session-store connects"]


def services_use_least_privilege(model, root: Path) -> list[str]:
    problems = []
    admin_broker_user = model.services.get("rabbitmq").environment.get("RABBITMQ_DEFAULT_USER", "guest")
    superuser = model.services.get("postgres").environment.get("POSTGRES_USER", "postgres")
    for service in model.services.values():
        database_url = service.environment.get("DATABASE_URL", "")
        if database_url and re.match(rf"^postgres(ql)?://{re.escape(superuser)}[:@]", database_url):
            problems.append(f"{service.name} connects to Postgres as the superuser {superuser}")
        amqp_url = service.environment.get("AMQP_URL", "")
        if amqp_url and re.match(rf"^amqps?://({re.escape(admin_broker_user)}|guest)[:@]", amqp_url):
            problems.append(f"{service.name} connects to RabbitMQ as the administrator")
    return problems


def every_service_knows_production(model, root: Path) -> list[str]:
    return [
        f"{service.name} lacks COOKIE_SECURE, so it cannot refuse development secrets"
        for service in model.services.values()
        if ("build" in service.raw or LOCAL_IMAGE.match(service.raw.get("image", "")))
        and service.name != "gateway"
        and "COOKIE_SECURE" not in service.environment
    ]


def service_image_builds_once(model, root: Path) -> list[str]:
    dockerfile = (root / "deploy/service.Dockerfile").read_text()
    problems = []
    last_from = dockerfile.rfind("\nFROM ")
    if re.search(r"^ARG BINARY", dockerfile[:last_from], re.MULTILINE):
        problems.append("service.Dockerfile: ARG BINARY before the runtime stage rebuilds dependencies per binary")
    if re.search(r"^COPY \. \.", dockerfile, re.MULTILINE):
        problems.append("service.Dockerfile: COPY . . rebuilds on any change to docs or deploy files")
    if not re.search(r"cargo install cargo-chef --version", dockerfile):
        problems.append("service.Dockerfile: cargo-chef is not pinned (--version)")
    return problems


RULES = [
    built_images_are_never_pulled,
    each_image_is_built_once,
    upstream_images_are_pinned,
    every_service_rotates_logs,
    every_service_has_a_grace_period,
    sockets_have_file_descriptors,
    gateway_address_is_reserved,
    postgres_health_is_over_tcp,
    services_use_least_privilege,
    every_service_knows_production,
    service_image_builds_once,
]


def check(model, root: Path) -> list[str]:
    problems: list[str] = []
    for rule in RULES:
        problems.extend(rule(model, root))
    return problems
