"""One soak worker: bridge / refresh / list / revoke / logout in a loop.

Started by scripts/soak.sh (several at once). Every response whose status is
neither 2xx nor 4xx is printed when it happens; at the end one JSON line of
counts per (operation, status) goes to stdout.
Environment: NEXUS_AUTH_URL, NEXUS_SUPABASE_SECRET, SOAK_UNTIL (epoch seconds).
"""

import collections
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "schemathesis"))
from supabase_token import supabase_token  # noqa: E402

AUTH = os.environ["NEXUS_AUTH_URL"]
UNTIL = float(os.environ["SOAK_UNTIL"])
ORIGIN = "http://localhost:5173"
counts = collections.Counter()


def call(operation, method, path, headers=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{AUTH}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, payload, cookies = response.status, response.read(), response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        status, payload, cookies = error.code, error.read(), []
    except OSError as error:
        status, payload, cookies = 0, str(error).encode(), []
    counts[f"{operation} {status}"] += 1
    if not (200 <= status < 300 or 400 <= status < 500):
        print(f"UNEXPECTED {operation} {method} {path} -> {status}: {payload[:200]!r}", flush=True)
    return status, payload, cookies


def refresh_cookie(cookies):
    for cookie in cookies:
        name, _, rest = cookie.partition("=")
        if name.endswith("nexus_refresh_token"):
            return rest.split(";", 1)[0]
    return None


def one_user():
    """A user with one to three devices, refreshing, listing, logging out."""
    supabase = supabase_token()
    sessions = []
    for _ in range(random.randint(1, 3)):
        status, payload, cookies = call("bridge", "POST", "/api/auth/session/bridge",
                                        {"Authorization": f"Bearer {supabase}"})
        if status != 200:
            return
        body = json.loads(payload)
        sessions.append({"access": body["access_token"], "refresh": refresh_cookie(cookies),
                         "id": body["session"]["id"]})
        supabase = supabase_token() if random.random() < 0.5 else supabase
    for session in sessions:
        for _ in range(random.randint(1, 4)):
            status, payload, cookies = call("refresh", "POST", "/api/auth/session/refresh",
                                            {"Cookie": f"nexus_refresh_token={session['refresh']}",
                                             "Origin": ORIGIN})
            if status == 200:
                session["refresh"] = refresh_cookie(cookies)
                session["access"] = json.loads(payload)["access_token"]
        call("sessions", "GET", "/api/auth/sessions", {"Authorization": f"Bearer {session['access']}"})
    if random.random() < 0.1:  # an attacker replays a superseded token
        call("refresh_reuse", "POST", "/api/auth/session/refresh", body={"refresh_token": "nxr1.bogus"})
    first = sessions[0]
    if len(sessions) > 1 and random.random() < 0.5:
        call("revoke", "DELETE", f"/api/auth/sessions/{sessions[-1]['id']}",
             {"Authorization": f"Bearer {first['access']}"})
    scope = random.choice(["local", "others", "global"])
    if random.random() < 0.3:
        call("logout", "POST", f"/api/auth/session/logout?scope={scope}", body={"refresh_token": first["refresh"]})
    else:
        call("logout", "POST", f"/api/auth/session/logout?scope={scope}",
             {"Authorization": f"Bearer {first['access']}"})


while time.time() < UNTIL:
    one_user()
print(json.dumps(counts), flush=True)
