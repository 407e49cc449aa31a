#!/usr/bin/env python3
"""`docker compose up` without Docker: the compose-rendering test (CI runs it).

1. Renders docker-compose.yml with .env.example exactly as Compose interpolates it
   (compose_model.py) and checks the deployment-review rules on the rendered model
   (policy.py): a compose change that Compose would reject, or that would bring back a
   known startup or production trap, fails here.
2. Boots the topology from that model, in Compose's start order and honouring each
   `depends_on` condition with the service's own health check:
   - postgres: the CI's Postgres stands in for the image; the initdb scripts the compose
     file mounts run against it with the postgres service's environment (a database of
     this run's own stands in for `nexus`);
   - rabbitmq: the CI's broker; the users script the compose file mounts runs with the
     rabbitmq service's environment, so the services connect as their least-privilege
     users exactly as in compose;
   - session-store, auth-service, realtime-1, realtime-2: the built binaries, each with
     exactly the environment Compose gives its container (the image's ENV, then the
     service's `environment:`), container host names mapped to loopback ports, and the
     gateway's fixed address mapped to 127.0.0.1 (the only peer the services trust);
   - gateway: the template and nexus-upstreams.sh rendered as the nginx image's entrypoint
     renders them (envsubst of every defined variable, then /docker-entrypoint.d/), with
     the image's nginx.conf, then the same host mapping.
   Only isolation is added to the environment: this run's database and exchange names.
3. Requires what a newcomer would see after `cp .env.example .env && docker compose up`:
   every /readyz and session-store's gRPC health answer, the demo page and the bridge work
   through the gateway, a dev token minted as `docker compose exec auth-service
   auth-service dev-token` would mint it signs in and chats over Socket.IO across both
   realtime instances; then the production guard (COOKIE_SECURE=true refuses the shipped
   development values in every service and the data-store setup) and the gateway's 503
   fallback with CORS headers.

usage: deploy/compose-test/run.py [--no-build | --policy-only]   (--policy-only: steps 1 only)
env:   COMPOSE_TEST_PORT_BASE (26000: gateway +2, auth +1, realtime +3/+4, store +51/+52),
       CARGO_TARGET_DIR, COMPOSE_TEST_OUTPUT (test-output/compose-test),
       NGINX_BIN (nginx; an nginx >= 1.27.3 runs the `resolve` upstreams unchanged)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import compose_model  # noqa: E402
import policy  # noqa: E402

NGINX = os.environ.get("NGINX_BIN", "nginx")
RUST_SERVICES = {
    "session-store": "session-store",
    "auth-service": "auth-service",
    "realtime-1": "realtime-service",
    "realtime-2": "realtime-service",
}
# The nginx image's own environment (nginxinc/nginx-unprivileged, Alpine): its entrypoint
# substitutes every defined variable, these included.
NGINX_IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOSTNAME": "gateway",
    "HOME": "/",
    "NGINX_VERSION": "1.30.4",
    "PKG_RELEASE": "1",
    "DYNPKG_RELEASE": "1",
    "NJS_VERSION": "0.9.1",
    "NJS_RELEASE": "1",
}


def log(message: str) -> None:
    print(f"[compose-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failure(Exception):
    pass


class Stack:
    """Processes, names and ports of one run; always cleaned up."""

    def __init__(self, output: Path, bin_dir: Path, port_base: int) -> None:
        self.output = output
        self.bin_dir = bin_dir
        self.run_id = uuid.uuid4().hex[:10]
        self.database = f"nexus_compose_{self.run_id}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.store_role: str | None = None
        self.broker_users: list[str] = []
        self.ports = {
            ("gateway", 8002): port_base + 2,
            ("auth-service", 8001): port_base + 1,
            ("realtime-1", 8003): port_base + 3,
            ("realtime-2", 8003): port_base + 4,
            ("session-store", 50051): port_base + 51,
            ("session-store", 9051): port_base + 52,
            ("postgres", 5432): 5432,
            ("rabbitmq", 5672): 5672,
        }
        # Commands as the containers have them on their PATH (/usr/local/bin).
        self.path_dir = output / "bin"
        self.path_dir.mkdir(parents=True, exist_ok=True)
        for binary in set(RUST_SERVICES.values()):
            link = self.path_dir / binary
            link.unlink(missing_ok=True)
            link.symlink_to(bin_dir / binary)

    # ------------------------------------------------------------------ mapping
    def map_value(self, service: str, value: str, gateway_address: str) -> str:
        """A container's view of an address -> this machine's loopback."""

        def own_listen(match: re.Match) -> str:
            port = int(match.group(1))
            if (service, port) not in self.ports:
                raise Failure(f"{service} listens on container port {port}, which has no mapping")
            return f"127.0.0.1:{self.ports[(service, port)]}"

        value = re.sub(r"\b0\.0\.0\.0:(\d+)\b", own_listen, value)
        for (name, port), host_port in self.ports.items():
            value = re.sub(
                rf"(?<![\w.-]){re.escape(name)}:{port}(?!\d)", f"127.0.0.1:{host_port}", value
            )
        value = value.replace(gateway_address, "127.0.0.1")
        return value

    def container_env(self, model, service: str, image_env: dict[str, str]) -> dict[str, str]:
        gateway_address = model.variables.get("GATEWAY_ADDRESS", "172.30.80.10")
        environment = {
            "PATH": f"{self.path_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME": service,
            "HOME": str(self.output),
        }
        environment.update(image_env)
        environment.update(model.services[service].environment)
        mapped = {
            key: self.map_value(service, value, gateway_address)
            for key, value in environment.items()
        }
        for key, value in mapped.items():
            for name in model.services:
                if re.search(rf"(?<![\w.-]){re.escape(name)}:\d", value) and key != "PATH":
                    raise Failure(f"{service}: {key} names {name} with no loopback mapping")
        return mapped

    def isolate(self, environment: dict[str, str]) -> dict[str, str]:
        """This run's own database and exchanges (the only additions to compose's env)."""
        isolated = dict(environment)
        if "DATABASE_URL" in isolated:
            isolated["DATABASE_URL"] = re.sub(r"/nexus(\?|$)", rf"/{self.database}\1", isolated["DATABASE_URL"])
        if "AMQP_URL" in isolated:
            isolated["SESSION_EVENTS_EXCHANGE"] = f"nexus.sessions.compose-{self.run_id}"
            isolated["ROOMS_EXCHANGE"] = f"nexus.rooms.compose-{self.run_id}"
        return isolated

    # ------------------------------------------------------------------ processes
    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        log_file = (self.output / "logs" / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log(f"started {name} (pid {self.processes[name].pid})")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            tail = (self.output / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
            raise Failure(f"{name} exited with {process.returncode}:\n{tail}")

    def cleanup(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        psql_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.store_role:
            psql_admin(f'DROP ROLE IF EXISTS "{self.store_role}"')
        for user in self.broker_users:
            subprocess.run(["rabbitmqctl", "-q", "delete_user", user], capture_output=True)


def psql_admin(sql: str, database: str = "postgres") -> None:
    subprocess.run(
        ["psql", f"postgres://postgres@127.0.0.1:5432/{database}", "-Xq", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=False, capture_output=True,
    )


def wait_until(what: str, check, timeout: float = 60, alive=None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if alive:
            alive()
        try:
            if check():
                log(f"{what}: ok")
                return
        except Exception as error:  # noqa: BLE001 - any failure means "not yet"
            last = str(error)
        time.sleep(0.3)
    raise Failure(f"{what}: not within {timeout:.0f} s {last}")


def http(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def run_healthcheck(stack: Stack, model, service: str, environment: dict[str, str]) -> bool:
    """The service's compose health check, run against its mapped ports."""
    test = model.services[service].raw["healthcheck"]["test"]
    kind, *command = test
    if kind == "CMD-SHELL":
        command = ["/bin/sh", "-c", command[0]]
    elif kind != "CMD":
        raise Failure(f"{service}: health check form {kind} is not modelled")

    def localhost_port(match: re.Match) -> str:
        port = int(match.group(2))
        return f"127.0.0.1{match.group(1)}{stack.ports.get((service, port), port)}"

    command = [re.sub(r"127\.0\.0\.1([/:])(\d+)", localhost_port, part) for part in command]
    result = subprocess.run(command, env=environment, capture_output=True, timeout=10)
    return result.returncode == 0


def nginx_version() -> tuple[int, ...]:
    output = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", output)
    return tuple(int(part) for part in match.groups()) if match else (0, 0, 0)


def render_gateway(stack: Stack, model) -> Path:
    """The gateway config as the image's entrypoint renders it, then mapped to loopback."""
    gateway = model.services["gateway"]
    build = gateway.raw["build"]
    context = ROOT / build["context"]
    image_env = dict(NGINX_IMAGE_ENV)
    image_env.update(compose_model.dockerfile_env(context / build.get("dockerfile", "Dockerfile")))
    environment = dict(image_env)
    environment.update(gateway.environment)
    out = stack.output / "nginx"
    conf_d = out / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    (out / "temp").mkdir(exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    # 20-envsubst-on-templates.sh: every defined variable is substituted.
    defined = " ".join(f"${{{name}}}" for name in sorted(environment))
    for template in sorted((context / "templates").glob("*.template")):
        rendered = subprocess.run(
            ["envsubst", defined], input=template.read_text(), env=environment,
            capture_output=True, text=True, check=True,
        ).stdout
        (conf_d / template.name.removesuffix(".template")).write_text(rendered)
    # /docker-entrypoint.d/25-nexus-upstreams.sh, with the container's environment.
    subprocess.run(
        ["sh", str(context / "nexus-upstreams.sh"), str(conf_d / "nexus-upstreams.conf")],
        env=environment, check=True, capture_output=True,
    )
    (out / "image-rendering").mkdir(exist_ok=True)
    for conf in conf_d.glob("*.conf"):
        shutil.copy(conf, out / "image-rendering" / conf.name)

    # Loopback mapping of what the container would reach by name or path.
    gateway_address = model.variables.get("GATEWAY_ADDRESS", "172.30.80.10")
    html = stack.output / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(context / "html", html, ignore=shutil.ignore_patterns("dev-token.json"))
    replacements = {
        "/var/log/nginx/access.log": str(out / "logs" / "access.log"),
        "/var/log/nginx/error.log": str(out / "logs" / "error.log"),
        "/usr/share/nginx/html": str(html),
    }
    adapt_resolve = nginx_version() < (1, 27, 3)
    for conf in conf_d.glob("*.conf"):
        text = conf.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        text = re.sub(r"listen (\d+);", lambda m: f"listen 127.0.0.1:{stack.ports[('gateway', int(m.group(1)))]};", text)
        text = "\n".join(stack.map_value("gateway", line, gateway_address) for line in text.splitlines()) + "\n"
        if adapt_resolve:
            # This nginx predates `resolve` (1.27.3); with IP literals there is nothing to
            # re-resolve, so the parameter is dropped for the local run only.
            text = text.replace(" resolve;", ";")
        conf.write_text(text)
    if adapt_resolve:
        log(f"local nginx {'.'.join(map(str, nginx_version()))} < 1.27.3: `resolve` dropped for the loopback run")

    main = (context / "nginx.conf").read_text()
    main = main.replace("/etc/nginx/conf.d/", f"{conf_d}/")
    main = main.replace("/etc/nginx/mime.types", "/etc/nginx/mime.types")
    main = re.sub(r"/tmp/(\w+_temp)\b", lambda m: str(out / "temp" / m.group(1)), main)
    main = main.replace("/tmp/nginx.pid", str(out / "nginx.pid"))
    main = main.replace("/var/log/nginx/error.log", str(out / "logs" / "error.log"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (out / "nginx.conf").write_text(user + "daemon off;\n" + main)
    subprocess.run([NGINX, "-t", "-q", "-p", str(out), "-c", str(out / "nginx.conf")], check=True)
    return out


def boot(stack: Stack, model) -> dict[str, dict[str, str]]:
    """Starts every service of `docker compose up` (no profiles) in Compose's order."""
    environments: dict[str, dict[str, str]] = {}
    healthy: set[str] = set()
    service_dockerfile = ROOT / "deploy" / "service.Dockerfile"

    for service in model.start_order():
        name = service.name
        for dependency, condition in service.depends_on.items():
            if condition == "service_healthy" and dependency not in healthy:
                raise Failure(f"{name} waits for {dependency} to be healthy, which never was")
        if name == "postgres":
            environment = stack.isolate(stack.container_env(model, name, {}))
            environment["POSTGRES_DB"] = stack.database
            environment.update({"PGHOST": "127.0.0.1", "PGPORT": "5432"})
            psql_admin(f'CREATE DATABASE "{stack.database}"')
            for script in sorted((ROOT / "deploy/postgres/initdb").glob("*.sh")):
                result = subprocess.run(["sh", str(script)], env=environment, capture_output=True, text=True)
                if result.returncode != 0:
                    raise Failure(f"{script.name} failed:\n{result.stderr}")
            stack.store_role = "nexus_store"
            wait_until("postgres health check", lambda: run_healthcheck(stack, model, name, environment))
        elif name == "rabbitmq":
            environment = stack.container_env(model, name, {})
            check = subprocess.run(["sh", str(ROOT / "deploy/rabbitmq/entrypoint.sh"), "--check"],
                                   env=environment, capture_output=True, text=True)
            if check.returncode != 0:
                raise Failure(f"rabbitmq entrypoint refused the example values:\n{check.stderr}")
            stack.broker_users = ["nexus-auth", "nexus-realtime"]
            result = subprocess.run(["sh", str(ROOT / "deploy/rabbitmq/users.sh")], env=environment,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise Failure(f"deploy/rabbitmq/users.sh failed:\n{result.stderr}")
            wait_until("rabbitmq reachable", lambda: subprocess.run(
                ["rabbitmq-diagnostics", "-q", "check_port_connectivity"], capture_output=True).returncode == 0)
        elif name in RUST_SERVICES:
            binary = RUST_SERVICES[name]
            image_env = compose_model.dockerfile_env(service_dockerfile, {"BINARY": binary})
            environment = stack.isolate(stack.container_env(model, name, image_env))
            stack.start(name, [str(stack.bin_dir / binary)], environment)
            wait_until(f"{name} health check", lambda: run_healthcheck(stack, model, name, environment),
                       timeout=90, alive=lambda: stack.alive(name))
        elif name == "gateway":
            out = render_gateway(stack, model)
            environment = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
            stack.start(name, [NGINX, "-p", str(out), "-c", str(out / "nginx.conf")], environment)
            wait_until("gateway health check", lambda: run_healthcheck(stack, model, name, environment),
                       alive=lambda: stack.alive(name))
        else:
            raise Failure(f"service {name} is started by `docker compose up` but not modelled here")
        environments[name] = environment
        healthy.add(name)
    return environments


def check_running_stack(stack: Stack, environments: dict[str, dict[str, str]]) -> None:
    gateway = f"http://127.0.0.1:{stack.ports[('gateway', 8002)]}"
    for name, port in (("auth-service", 8001), ("realtime-1", 8003), ("realtime-2", 8003)):
        status, _, _ = http("GET", f"http://127.0.0.1:{stack.ports[(name, port)]}/readyz")
        if status != 200:
            raise Failure(f"{name} /readyz answered {status}")
    log("every /readyz answers 200")
    store_env = environments["session-store"]
    result = subprocess.run([str(stack.bin_dir / "session-store"), "health"], env=store_env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"session-store gRPC health: {result.stderr}")
    log("session-store gRPC health: SERVING")

    status, _, page = http("GET", f"{gateway}/")
    if status != 200 or b"<html" not in page.lower():
        raise Failure(f"the demo page answered {status}")
    status, _, _ = http("GET", f"{gateway}/api/auth/.well-known/jwks.json")
    if status != 200:
        raise Failure(f"JWKS through the gateway answered {status}")

    # The dev token as `docker compose exec auth-service auth-service dev-token` mints it:
    # the exec'd process has the container's environment.
    token = subprocess.run(
        [str(stack.bin_dir / "auth-service"), "dev-token", "--name", "Alice", "--ttl", "10m"],
        env=environments["auth-service"], capture_output=True, text=True, check=True,
    ).stdout.strip()
    origin = "http://localhost:8002"
    status, headers, body = http(
        "POST", f"{gateway}/api/auth/session/bridge",
        headers={"Authorization": f"Bearer {token}", "Origin": origin, "Content-Type": "application/json"},
        body=b"{}",
    )
    envelope = json.loads(body or b"{}")
    if status != 200 or not envelope.get("success"):
        raise Failure(f"the dev token did not sign in through the gateway: {status} {body[:300]!r}")
    log("the dev token signs in through the gateway (bridge 200)")

    # Socket.IO through the gateway: clients on both realtime instances share a room.
    socket_check = subprocess.run(
        ["node", str(HERE / "socket-check.mjs")],
        env={**os.environ, "GATEWAY_URL": gateway, "ORIGIN": origin,
             "AUTH_BIN": str(stack.bin_dir / "auth-service"),
             "SUPABASE_JWT_SECRET": environments["auth-service"]["SUPABASE_JWT_SECRET"]},
        capture_output=True, text=True, timeout=120,
    )
    if socket_check.returncode != 0:
        raise Failure(f"Socket.IO through the gateway failed:\n{socket_check.stdout}\n{socket_check.stderr}")
    log(socket_check.stdout.strip().splitlines()[-1])
    access_log = (stack.output / "nginx" / "logs" / "access.log").read_text()
    upstreams = set(re.findall(r'"GET /socket\.io/ \S+" \d+ .*?upstream=(127\.0\.0\.1:\d+)', access_log))
    expected = {f"127.0.0.1:{stack.ports[(name, 8003)]}" for name in ("realtime-1", "realtime-2")}
    if not expected <= upstreams:
        raise Failure(f"sockets reached {sorted(upstreams)}, not both realtime instances {sorted(expected)}")
    log("the sockets were spread over realtime-1 and realtime-2")


def check_production_guard(stack: Stack, model, environments: dict[str, dict[str, str]]) -> None:
    """COOKIE_SECURE=true with the shipped development values: everything refuses."""
    for name in ("session-store", "auth-service", "realtime-1"):
        environment = dict(environments[name])
        environment["COOKIE_SECURE"] = "true"
        # Other ports, so a refusal cannot be confused with "port in use".
        for key in ("SESSION_STORE_LISTEN", "AUTH_LISTEN", "REALTIME_LISTEN"):
            if key in environment:
                environment[key] = "127.0.0.1:0"
        environment["SESSION_STORE_METRICS_LISTEN"] = "off"
        result = subprocess.run([str(stack.bin_dir / RUST_SERVICES[name])], env=environment,
                                capture_output=True, text=True, timeout=30)
        output = result.stdout + result.stderr
        if result.returncode == 0 or "published development value" not in output:
            raise Failure(f"{name} did not refuse the development values with COOKIE_SECURE=true:\n{output[-2000:]}")
        if "insecure-dev-" in output.replace('"insecure-dev"', ""):
            raise Failure(f"{name} printed a secret value in its refusal:\n{output[-2000:]}")
    for label, command, service in (
        ("postgres initdb", ["sh", str(ROOT / "deploy/postgres/initdb/10-nexus-store-role.sh")], "postgres"),
        ("rabbitmq entrypoint", ["sh", str(ROOT / "deploy/rabbitmq/entrypoint.sh"), "--check"], "rabbitmq"),
    ):
        environment = dict(stack.container_env(model, service, {}))
        environment["COOKIE_SECURE"] = "true"
        environment["PGHOST"] = "127.0.0.1"
        environment["POSTGRES_DB"] = stack.database
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode == 0 or "published development value" not in result.stderr:
            raise Failure(f"{label} did not refuse the development values:\n{result.stderr}")
    log("COOKIE_SECURE=true: every service and the data-store setup refuse the development values")


def check_auth_fallback(stack: Stack) -> None:
    """auth-service down: the gateway's own 503, readable by an allowed origin only."""
    stack.stop("auth-service")
    gateway = f"http://127.0.0.1:{stack.ports[('gateway', 8002)]}"
    allowed = "http://localhost:8002"
    status, headers, body = http("POST", f"{gateway}/api/auth/session/refresh",
                                 headers={"Origin": allowed, "Content-Type": "application/json"}, body=b"{}")
    headers = {key.lower(): value for key, value in headers.items()}
    envelope = json.loads(body or b"{}")
    if status != 503 or envelope.get("error") != "service_unavailable" or envelope.get("success") is not False:
        raise Failure(f"auth-service down: expected the 503 envelope, got {status} {body[:200]!r}")
    if headers.get("access-control-allow-origin") != allowed or headers.get("access-control-allow-credentials") != "true":
        raise Failure(f"the 503 fallback lacks CORS headers for {allowed}: {headers}")
    status, headers, _ = http("POST", f"{gateway}/api/auth/session/refresh",
                              headers={"Origin": "https://evil.example", "Content-Type": "application/json"}, body=b"{}")
    if status != 503 or any(key.lower() == "access-control-allow-origin" for key in headers):
        raise Failure("the 503 fallback granted CORS to an origin outside CORS_ORIGINS")
    log("auth-service down: 503 envelope with CORS for allowed origins only")


def main() -> int:
    build = "--no-build" not in sys.argv[1:]
    policy_only = "--policy-only" in sys.argv[1:]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    output = Path(os.environ.get("COMPOSE_TEST_OUTPUT", ROOT / "test-output" / "compose-test")).resolve()
    if "--policy-only" not in sys.argv[1:]:
        shutil.rmtree(output, ignore_errors=True)
    (output / "logs").mkdir(parents=True, exist_ok=True)
    if build and "--policy-only" not in sys.argv[1:]:
        log("building the workspace binaries (debug)")
        subprocess.run(["cargo", "build", "--workspace", "--bins"], cwd=ROOT, check=True)

    log("rendering docker-compose.yml with .env.example as Compose does")
    model = compose_model.load(ROOT / "docker-compose.yml", ROOT / ".env.example")
    (output / "rendered-compose.json").write_text(json.dumps(model.raw, indent=2))
    problems = policy.check(model, ROOT)
    if problems:
        for problem in problems:
            log(f"POLICY: {problem}")
        return 1
    log(f"policy: {len(policy.RULES)} deployment-review rules hold")
    if policy_only:
        return 0

    stack = Stack(output, target / "debug", int(os.environ.get("COMPOSE_TEST_PORT_BASE", "26000")))
    try:
        environments = boot(stack, model)
        (output / "container-environments.json").write_text(json.dumps(environments, indent=2))
        check_running_stack(stack, environments)
        check_production_guard(stack, model, environments)
        check_auth_fallback(stack)
    except (Failure, subprocess.CalledProcessError, compose_model.ComposeError) as error:
        log(f"FAILED: {error}")
        log(f"logs: {output / 'logs'}")
        return 1
    finally:
        stack.cleanup()
    log("1 passed, 0 failed: .env.example boots the whole compose topology")
    return 0


if __name__ == "__main__":
    sys.exit(main())
