#!/usr/bin/env python3
"""Postgres bytes per refresh: the per-unit storage cost the capacity plan needs.

Starts the launcher (its own database, rate limits off), bridges SESSIONS sessions
through the gateway and refreshes each of them REFRESHES times (every refresh a real
rotation: one refresh_tokens row inserted, the previous generation and the session
updated), then reads from Postgres:
  - table + index bytes of user_sessions and refresh_tokens, per session and per rotation;
  - WAL bytes written per rotation (pg_current_wal_lsn before/after; the database is
    otherwise idle only if nothing else writes, so run it on a quiet box).
Prints one JSON line. Build profile does not matter for bytes (debug is fine).

usage: deploy/scale/refresh_storage.py      env: SESSIONS (20), REFRESHES (100), PORT_BASE (26400)
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", f"postgres://postgres@127.0.0.1:5432/{database}", "-XAtq", "-c", sql],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def post(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict, list[str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    body = json.loads(response.read() or b"{}")
    cookies = response.headers.get_all("Set-Cookie") or []
    connection.close()
    return response.status, body, cookies


def refresh_cookie(cookies: list[str]) -> str:
    for cookie in cookies:
        match = re.match(r"((?:__Secure-)?nexus_refresh_token)=([^;]+)", cookie)
        if match:
            return f"{match.group(1)}={match.group(2)}"
    raise RuntimeError(f"no refresh cookie in {cookies}")


def main() -> int:
    sessions = int(os.environ.get("SESSIONS", "20"))
    refreshes = int(os.environ.get("REFRESHES", "100"))
    base = int(os.environ.get("PORT_BASE", "26400"))
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
    output = ROOT / "test-output" / "refresh-storage"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    run_id = uuid.uuid4().hex[:10]
    database = f"nexus_storage_{run_id}"
    secret = f"storage-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    gateway = base + 2
    origin = f"http://localhost:{gateway}"
    environment = {
        **os.environ,
        "NEXUS_GATEWAY_PORT": str(gateway), "NEXUS_AUTH_PORT": str(base + 1),
        "NEXUS_REALTIME_INSTANCES": "1", "NEXUS_REALTIME_PORT_1": str(base + 3),
        "NEXUS_STORE_PORT": str(base + 51), "NEXUS_DEV_DIR": str(output / "stack"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "SESSION_EVENTS_EXCHANGE": f"nexus.sessions.storage-{run_id}",
        "ROOMS_EXCHANGE": f"nexus.rooms.storage-{run_id}",
        "SUPABASE_JWT_SECRET": secret, "RUST_LOG": "warn",
        "AUTH_BRIDGE_RATE_PER_SECOND": "0", "AUTH_REFRESH_RATE_PER_SECOND": "0",
    }
    stack = subprocess.Popen([str(ROOT / "scripts/dev-up.sh"), "--no-build"], env=environment,
                             stdout=(output / "dev-up.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not (output / "stack" / "ready").exists():
            if stack.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start (see {output / 'dev-up.log'})")
            time.sleep(0.5)
        cookies = []
        for index in range(sessions):
            token = subprocess.run(
                [str(target / "auth-service"), "dev-token", "--name", f"S{index}", "--ttl", "1h"],
                env={**os.environ, "SUPABASE_JWT_SECRET": secret}, capture_output=True, text=True, check=True,
            ).stdout.strip()
            status, body, set_cookies = post(gateway, "/api/auth/session/bridge",
                                             {"Authorization": f"Bearer {token}", "Origin": origin})
            if status != 200:
                raise RuntimeError(f"bridge {status}: {body}")
            cookies.append(refresh_cookie(set_cookies))
        before_wal = psql(database, "SELECT pg_current_wal_lsn()")
        before_bytes = int(psql(database, "SELECT pg_total_relation_size('refresh_tokens') + pg_total_relation_size('user_sessions')"))
        started = time.monotonic()
        for _ in range(refreshes):
            for index, cookie in enumerate(cookies):
                status, body, set_cookies = post(gateway, "/api/auth/session/refresh",
                                                 {"Cookie": cookie, "Origin": origin})
                if status != 200:
                    raise RuntimeError(f"refresh {status}: {body}")
                cookies[index] = refresh_cookie(set_cookies)
        seconds = time.monotonic() - started
        after_wal = psql(database, "SELECT pg_current_wal_lsn()")
        wal = int(psql(database, f"SELECT pg_wal_lsn_diff('{after_wal}', '{before_wal}')"))
        psql(database, "VACUUM ANALYZE refresh_tokens")
        psql(database, "VACUUM ANALYZE user_sessions")
        rows = int(psql(database, "SELECT count(*) FROM refresh_tokens"))
        tokens_bytes = int(psql(database, "SELECT pg_total_relation_size('refresh_tokens')"))
        sessions_bytes = int(psql(database, "SELECT pg_total_relation_size('user_sessions')"))
        rotations = sessions * refreshes
        print(json.dumps({
            "test": "refresh-storage", "sessions": sessions, "rotations": rotations,
            "refresh_tokens_rows": rows,
            "refresh_tokens_bytes_per_row": round(tokens_bytes / rows),
            "user_sessions_bytes_per_session": round(sessions_bytes / sessions),
            "growth_bytes_per_rotation": round((tokens_bytes + sessions_bytes - before_bytes) / rotations),
            "wal_bytes_per_rotation": round(wal / rotations),
            "rotations_per_second_debug": round(rotations / seconds),
        }))
    finally:
        if stack.poll() is None:
            stack.send_signal(signal.SIGTERM)
            stack.wait(timeout=30)
        subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-Xq", "-c",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
