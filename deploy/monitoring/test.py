#!/usr/bin/env python3
"""A real Prometheus scraping the launcher's services (CI runs it; about a minute).

Starts the stack with scripts/dev-up.sh (its own ports, database and exchanges), then
Prometheus (Debian's package) with deploy/monitoring/prometheus.yml and its alert rules
UNCHANGED, only the file_sd target files pointing at the launcher's loopback ports. It
waits for one scrape of every target and requires, through Prometheus' HTTP API:
  - `up == 1` for every auth-service, realtime-service and session-store target;
  - a metric of each service: auth_http_requests_total, realtime_connections (one series per
    instance), session_store_grpc_requests_total;
  - every alert rule loaded and healthy;
  - every query of the Grafana dashboard accepted by Prometheus.

usage: deploy/monitoring/test.py           (binaries must be built: cargo build --workspace --bins)
env:   MONITORING_TEST_PORT_BASE (26100), CARGO_TARGET_DIR, PROMETHEUS (prometheus)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def log(message: str) -> None:
    print(f"[monitoring-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def query(base: str, path: str, **params: str) -> dict:
    url = f"{base}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def wait_for(what: str, check, timeout: float, alive) -> object:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        alive()
        try:
            result = check()
            if result:
                log(f"{what}: ok")
                return result
        except Exception as error:  # noqa: BLE001 - not yet
            last = error
        time.sleep(1)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s ({last})")


def main() -> int:
    base = int(os.environ.get("MONITORING_TEST_PORT_BASE", "26100"))
    output = ROOT / "test-output" / "monitoring-test"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    run_id = uuid.uuid4().hex[:10]
    database = f"nexus_monitoring_{run_id}"
    ports = {"gateway": base + 2, "auth": base + 1, "realtime": base + 3, "store": base + 51, "prometheus": base + 90}
    environment = {
        **os.environ,
        "NEXUS_GATEWAY_PORT": str(ports["gateway"]),
        "NEXUS_AUTH_PORT": str(ports["auth"]),
        "NEXUS_REALTIME_PORT_1": str(ports["realtime"]),
        "NEXUS_REALTIME_PORT_2": str(ports["realtime"] + 1),
        "NEXUS_STORE_PORT": str(ports["store"]),
        "NEXUS_DEV_DIR": str(output / "stack"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "SESSION_EVENTS_EXCHANGE": f"nexus.sessions.monitoring-{run_id}",
        "ROOMS_EXCHANGE": f"nexus.rooms.monitoring-{run_id}",
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
    }
    processes: list[subprocess.Popen] = []

    def alive() -> None:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode} (logs: {output})")

    try:
        stack = subprocess.Popen(
            [str(ROOT / "scripts/dev-up.sh"), "--no-build"], env=environment,
            stdout=(output / "dev-up.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        processes.append(stack)
        wait_for("the launcher's stack", lambda: (output / "stack" / "ready").exists(), 180, alive)

        # The shipped config and rules, with target files for this stack.
        config_dir = output / "prometheus"
        (config_dir / "targets").mkdir(parents=True)
        shutil.copy(HERE / "prometheus.yml", config_dir / "prometheus.yml")
        shutil.copytree(HERE / "rules", config_dir / "rules")
        targets = {
            "auth-service": [f"127.0.0.1:{ports['auth']}"],
            "realtime-service": [f"127.0.0.1:{ports['realtime']}", f"127.0.0.1:{ports['realtime'] + 1}"],
            "session-store": [f"127.0.0.1:{ports['store'] + 1}"],
        }
        for service, addresses in targets.items():
            (config_dir / "targets" / f"{service}.json").write_text(
                json.dumps([{"targets": addresses, "labels": {"service": service}}])
            )
        prometheus_url = f"http://127.0.0.1:{ports['prometheus']}"
        prometheus = subprocess.Popen(
            [os.environ.get("PROMETHEUS", "prometheus"),
             f"--config.file={config_dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={output / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{ports['prometheus']}"],
            stdout=(output / "prometheus.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        processes.append(prometheus)
        wait_for("Prometheus ready", lambda: urllib.request.urlopen(f"{prometheus_url}/-/ready", timeout=2).status == 200, 60, alive)

        expected = sum(len(addresses) for addresses in targets.values())

        def all_up() -> bool:
            result = query(prometheus_url, "/api/v1/query", query='up{job=~"nexus-.*"}')["data"]["result"]
            return len(result) == expected and all(sample["value"][1] == "1" for sample in result)

        wait_for(f"one scrape of all {expected} targets, every one up", all_up, 90, alive)

        checks = {
            "auth-service": ('auth_http_requests_total{job="nexus-auth-service"}', 1),
            "realtime-service": ('realtime_connections{job="nexus-realtime-service"}', 2),
            "session-store": ('session_store_grpc_requests_total{job="nexus-session-store"}', 1),
        }
        for service, (expression, at_least) in checks.items():
            result = query(prometheus_url, "/api/v1/query", query=expression)["data"]["result"]
            instances = {sample["metric"]["instance"] for sample in result}
            if len(instances) < at_least:
                raise RuntimeError(f"{service}: {expression} came back from {sorted(instances)}")
            log(f"{service}: {expression} scraped from {', '.join(sorted(instances))}")

        groups = query(prometheus_url, "/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        unhealthy = [rule["name"] for rule in rules if rule.get("health") not in ("ok", "unknown")]
        if not rules or unhealthy:
            raise RuntimeError(f"alert rules: {len(rules)} loaded, unhealthy: {unhealthy}")
        log(f"alert rules: {len(rules)} loaded in {len(groups)} groups, none unhealthy")

        dashboard = json.loads((HERE / "grafana/dashboards/nexus-overview.json").read_text())
        expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
        for expression in expressions:
            answer = query(prometheus_url, "/api/v1/query", query=expression)
            if answer.get("status") != "success":
                raise RuntimeError(f"dashboard query rejected: {expression}: {answer}")
        log(f"dashboard: all {len(expressions)} panel queries accepted")
    except Exception as error:  # noqa: BLE001 - report and fail
        log(f"FAILED: {error}")
        return 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-Xq", "-c",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], capture_output=True)
    log("1 passed, 0 failed: a real Prometheus scrapes all three services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
