"""schemathesis hooks for auth-service: real credentials for every case.

Every generated case gets credentials of a fresh, live session, so the
operations are exercised past their 401s: the Supabase token (HS256, signed
with the run's SUPABASE_JWT_SECRET, shaped like Supabase Auth's) for the
bridge, and, from bridging it, the backend access token (bearer) and refresh
token (cookie, with an allowed Origin) for everything else. A fresh user and
Supabase session per case keeps cases independent: a generated
`logout?scope=global` ends only its own session.

Operations on one group (`/api/groups/{id}...`) get the id of a group the
case's user owns (created for the case), so they are exercised past their
404s; malformed and foreign ids are the Rust tests' job
(auth-service/tests/api/groups.rs).

Environment: NEXUS_AUTH_URL (the service), NEXUS_SUPABASE_SECRET,
NEXUS_ORIGIN (an allowed origin).
"""

import json
import os
import urllib.request

import schemathesis
from supabase_token import supabase_token

AUTH_URL = os.environ["NEXUS_AUTH_URL"]
ORIGIN = os.environ.get("NEXUS_ORIGIN", "http://localhost:5173")


def bridge(token: str) -> dict:
    """Bridges the token; returns the backend access and refresh tokens."""
    request = urllib.request.Request(
        f"{AUTH_URL}/api/auth/session/bridge",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
        cookies = response.headers.get_all("Set-Cookie") or []
    refresh = next(
        cookie.split(";", 1)[0].split("=", 1)[1]
        for cookie in cookies
        if cookie.split("=", 1)[0].endswith("nexus_refresh_token")
    )
    return {"access": body["access_token"], "refresh": refresh}


def create_group(access: str) -> str:
    """Creates a group owned by the access token's user; returns its id."""
    request = urllib.request.Request(
        f"{AUTH_URL}/api/groups",
        method="POST",
        data=json.dumps({"name": "schemathesis"}).encode(),
        headers={"Authorization": f"Bearer {access}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["group"]["id"]


@schemathesis.auth(refresh_interval=None)
class LiveSession:
    def get(self, case, ctx):
        token = supabase_token()
        return {"supabase": token, **bridge(token)}

    def set(self, case, data, ctx):
        if case.headers is None:
            case.headers = {}
        path = case.operation.path
        if path.endswith("/session/bridge"):
            case.headers["Authorization"] = f"Bearer {data['supabase']}"
        elif path.endswith("/session/refresh"):
            case.headers["Cookie"] = f"nexus_refresh_token={data['refresh']}"
            case.headers["Origin"] = ORIGIN
        else:
            case.headers["Authorization"] = f"Bearer {data['access']}"
        if path.startswith("/api/groups/{id}"):
            if case.path_parameters is None:
                case.path_parameters = {}
            case.path_parameters["id"] = create_group(data["access"])
