"""A Supabase Auth access token as a legacy HS256 project issues it.

Shared by the schemathesis hooks and the soak workers (stdlib only).
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def supabase_token(secret: bytes | None = None) -> str:
    """A token for a new user and Supabase session, signed with
    NEXUS_SUPABASE_SECRET (the service's SUPABASE_JWT_SECRET)."""
    secret = secret or os.environ["NEXUS_SUPABASE_SECRET"].encode()
    now = int(time.time())
    claims = {
        "iss": "http://localhost:54321/auth/v1",
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "schemathesis@example.com",
        "phone": "",
        "app_metadata": {"provider": "email"},
        "user_metadata": {"full_name": "Schemathesis"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"
