"""Helpers shared by tests: calling functions as the worker does, minting tokens,
seeding rows."""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from typing import Any

from fastapi import Request

from shared.platform.config import DEV_JWT_SECRET

ISSUER = "http://127.0.0.1:9/auth/v1"  # matches SUPABASE_URL set in conftest


def user_token(user_id: uuid.UUID | str, *, secret: str = DEV_JWT_SECRET, **claims: Any) -> str:
    import jwt

    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "iss": ISSUER,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def auth_headers(user_id, **claims) -> dict[str, str]:
    return {"authorization": f"Bearer {user_token(user_id, **claims)}"}


@lru_cache(maxsize=1)
def function_host():
    """The app's functions, read once from its metadata (get_functions caches)."""
    import function_app
    from devhost.server import FunctionHost

    return FunctionHost(function_app.app)


def make_request(
    method: str,
    path: str,
    body: bytes | str | dict | list | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    client_ip: str = "127.0.0.1",
    path_params: dict | None = None,
) -> Request:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    body = body or b""
    headers.setdefault("content-length", str(len(body)))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": (client_ip, 50000),
        "server": ("127.0.0.1", 7071),
        "path_params": path_params or {},  # the worker fills these from the route template
    }
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


class Result:
    def __init__(self, response, raw: bytes):
        self.status = response.status_code
        self.headers = response.headers
        self.raw = raw

    def json(self) -> Any:
        return json.loads(self.raw)

    def __repr__(self) -> str:
        return f"<Result {self.status} {self.raw[:300]!r}>"


async def call_function(
    name: str,
    method: str = "POST",
    body=None,
    headers=None,
    query: str = "",
    client_ip: str = "127.0.0.1",
    path: str | None = None,
    path_params: dict | None = None,
) -> Result:
    """Invoke an HTTP function's user function as the worker does, with a real request."""
    request = make_request(method, path or f"/api/{name}", body, headers, query, client_ip, path_params)
    response = await function_host().invoke(name, request)
    if hasattr(response, "body_iterator"):
        chunks = [c if isinstance(c, bytes) else c.encode() async for c in response.body_iterator]
        return Result(response, b"".join(chunks))
    return Result(response, bytes(response.body))


async def create_user(
    db, user_id: uuid.UUID | None = None, email: str | None = None, *, confirmed: bool = True
) -> uuid.UUID:
    """A row in auth.users, as Supabase Auth would have (`confirmed`: the address is verified)."""
    user_id = user_id or uuid.uuid4()
    await db.execute(
        "insert into auth.users (id, email, email_confirmed_at) values (%s, %s, case when %s then now() end)"
        " on conflict do nothing",
        (user_id, email or f"{user_id.hex[:8]}@example.test", confirmed),
    )
    return user_id


async def clear_of_window_edge(window_seconds: int = 60, needed_seconds: float = 15) -> None:
    """Rate limits count in fixed windows: a test that fills one must not straddle
    a boundary, so wait for a fresh window when the current one is nearly over."""
    import asyncio

    remaining = window_seconds - time.time() % window_seconds
    if remaining < needed_seconds:
        await asyncio.sleep(remaining + 0.05)


def require_usable_model() -> None:
    """Skips (fails under CI, where `make test` installs the model) unless the embedded
    model is installed and its self-test passed in a child process: a llama.cpp build
    that crashes on this CPU must not take pytest down with it."""
    import os

    import pytest

    from devhost.local_model.selftest import verdict_for_installed
    from shared.ai.local_model import missing_parts

    missing = missing_parts()
    reason = f"the embedded AI model is not installed (missing {', '.join(missing)}): run `make model`"
    if not missing:
        verdict = verdict_for_installed()
        if verdict.ok:
            return
        reason = verdict.message()
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; `make test` installs the model, so under CI this is a failure")
    pytest.skip(reason)
