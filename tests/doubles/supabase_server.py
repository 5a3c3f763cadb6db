"""Supabase double: the Auth (GoTrue) and Storage endpoints the app uses.

Routes (paths as supabase 2.34 / supabase_auth / storage3 build them):
  GET    /auth/v1/.well-known/jwks.json        ``jwks_keys`` (public JWKs); counts ``jwks_fetches``
  GET    /auth/v1/user                         user for a valid Bearer JWT (what ``auth.get_user``
                                               and ``auth.get_claims`` on HS256 tokens call)
  GET    /auth/v1/admin/users/{id}             needs Bearer = service role key
  DELETE /auth/v1/admin/users/{id}             body {"should_soft_delete": bool}; 200 {}
  GET    /storage/v1/object/{bucket}/{path}    bytes from ``objects[(bucket, path)]``
  GET    /storage/v1/object/authenticated/{bucket}/{path}
  DELETE /storage/v1/object/{bucket}                body {"prefixes": [path, ...]} (exact names, as
                                               storage3's ``remove`` sends); 200 with the deleted
                                               objects' rows (a missing path is just not listed);
                                               recorded in ``deleted_objects``. The anon key deletes
                                               nothing (no RLS policy grants it), as in production.
  POST   /storage/v1/object/list/{bucket}      body {"prefix", "limit", "offset"}: one folder level
                                               (files with an id, subfolders with id null), by name;
                                               service role only; recorded in ``list_requests``.

Like the Supabase gateway, everything except the JWKS needs an ``apikey``
header equal to the anon or service role key (supabase-py sends ``apiKey`` and
``Authorization: Bearer <key>`` on every request).

Point the SDK at it:
  client = await supabase.create_async_client(double.url, double.service_role_key)
  await client.storage.from_("recordings").download("a/b.webm")   # GET /storage/v1/object/recordings/a/b.webm
  await client.storage.from_("cvs").remove(["a/cv.pdf"])          # DELETE /storage/v1/object/cvs
  await client.auth.admin.delete_user(user_id)                    # DELETE /auth/v1/admin/users/{id}
  client.auth.admin.delete_user/get_user_by_id reject non-UUID ids client-side (ValueError).

Error shapes: GoTrue answers ``{"code": "<error_code>", "message": ...}`` plus the
response header ``X-Supabase-Api-Version: 2024-01-01`` when the request sent that
header (supabase_auth always does), else the legacy ``{"code": <status>,
"error_code": ..., "msg": ...}``. Storage answers HTTP 400 (``missing_object_status``)
with ``{"statusCode": "404", "error": "not_found", "message": "Object not found"}``
for a missing object, as the legacy storage API does; storage3 raises
``StorageApiError`` from that body.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt

from .base import RecordedRequest, Reply, ServiceDouble, json_reply

API_VERSION_HEADER = "x-supabase-api-version"
API_VERSION = "2024-01-01"


class SupabaseDouble(ServiceDouble):
    def __init__(
        self,
        service_role_key: str = "service-role-key",
        anon_key: str = "anon-key",
        jwks_keys: list[dict] | None = None,
        jwt_secret: str | None = None,
    ) -> None:
        """``jwks_keys``: public JWKs to serve (e.g. ``KeyPair.jwk()``); ``jwt_secret``:
        HS256 secret ``/auth/v1/user`` verifies with (asymmetric tokens use the JWKS)."""
        super().__init__()
        self.service_role_key = service_role_key
        self.anon_key = anon_key
        self.jwks_keys: list[dict] = list(jwks_keys or [])
        self.jwt_secret = jwt_secret
        self.missing_object_status = 400
        self._reset_state()

    def _reset_state(self) -> None:
        self.users: dict[str, dict] = {}
        self.deleted_users: list[str] = []
        self.objects: dict[tuple[str, str], bytes] = {}
        self.content_types: dict[tuple[str, str], str] = {}
        self.deleted_objects: list[tuple[str, str]] = []
        self.list_requests: list[tuple[str, str]] = []  # (bucket, folder) per list call
        self.jwks_fetches = 0

    def reset(self) -> None:
        """Also forgets users and objects (keys and JWKS stay)."""
        super().reset()
        with self._lock:
            self._reset_state()

    # -- fixtures for tests ----------------------------------------------------

    def add_user(self, user_id: str | None = None, email: str | None = None, **fields: Any) -> dict:
        user_id = user_id or str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        user = {
            "id": user_id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": email or f"{user_id[:8]}@example.test",
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
            "identities": [],
            "created_at": now,
            "updated_at": now,
            "is_anonymous": False,
            **fields,
        }
        with self._lock:
            self.users[user_id] = user
        return user

    def put_object(self, bucket: str, path: str, data: bytes, content_type: str | None = None) -> None:
        with self._lock:
            self.objects[(bucket, path)] = data
            if content_type:
                self.content_types[(bucket, path)] = content_type

    def error_body(self, status: int, path: str) -> Any:
        if path.startswith("/storage/"):
            return _storage_error(str(status), "internal", f"Injected failure {status}")
        return {"code": status, "error_code": "unexpected_failure", "msg": f"Injected failure {status}"}

    # -- routing ---------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        path, method = request.path, request.method
        if path == "/auth/v1/.well-known/jwks.json" and method == "GET":
            with self._lock:
                self.jwks_fetches += 1
                keys = list(self.jwks_keys)
            return json_reply(200, {"keys": keys}, {"cache-control": "public, max-age=600"})
        apikey = request.headers.get("apikey")
        if not apikey:
            return json_reply(
                401,
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
            )
        if apikey not in (self.anon_key, self.service_role_key):
            return json_reply(
                401,
                {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."},
            )
        if path.startswith("/auth/v1/"):
            return self._auth(request, path.removeprefix("/auth/v1"), method)
        if path.startswith("/storage/v1/object/") and method in ("GET", "HEAD"):
            return self._download(request, path.removeprefix("/storage/v1/object/"))
        if path.startswith("/storage/v1/object/list/") and method == "POST":
            return self._list(request, path.removeprefix("/storage/v1/object/list/"))
        bucket = path.removeprefix("/storage/v1/object/")
        if path.startswith("/storage/v1/object/") and method == "DELETE" and bucket and "/" not in bucket:
            return self._remove(request, bucket)
        return json_reply(404, {"message": "no Route matched with those values"})

    # -- auth (GoTrue) ---------------------------------------------------------

    def _auth(self, request: RecordedRequest, path: str, method: str) -> Reply:
        if path == "/user" and method == "GET":
            return self._current_user(request)
        parts = path.strip("/").split("/")
        if parts[:2] != ["admin", "users"] or len(parts) != 3 or method not in ("GET", "DELETE"):
            return _gotrue_error(request, 404, "not_found", "Not Found")
        if _bearer(request) != self.service_role_key:
            return _gotrue_error(request, 403, "not_admin", "User not allowed")
        user_id = parts[2]
        with self._lock:
            user = self.users.get(user_id)
            if user is not None and method == "DELETE":
                del self.users[user_id]
                self.deleted_users.append(user_id)
        if user is None:
            return _gotrue_error(request, 404, "user_not_found", "User not found")
        return _gotrue_reply(request, 200, user if method == "GET" else {})

    def _current_user(self, request: RecordedRequest) -> Reply:
        token = _bearer(request)
        if not token:
            return _gotrue_error(request, 401, "no_authorization", "This endpoint requires a Bearer token")
        try:
            claims = self._verify(token)
        except jwt.PyJWTError as err:
            return _gotrue_error(request, 403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {err}")
        with self._lock:
            user = self.users.get(claims.get("sub", ""))
        if user is None:
            return _gotrue_error(request, 403, "user_not_found", "User from sub claim in JWT does not exist")
        return _gotrue_reply(request, 200, user)

    def _verify(self, token: str) -> dict:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg == "HS256":
            if not self.jwt_secret:
                raise jwt.InvalidTokenError("no HS256 secret configured")
            key: Any = self.jwt_secret
        else:
            jwk = next((k for k in self.jwks_keys if k.get("kid") == header.get("kid")), None)
            if jwk is None or alg not in ("ES256", "RS256"):
                raise jwt.InvalidTokenError("no matching signing key")
            key = jwt.PyJWK(jwk).key
        return jwt.decode(token, key, algorithms=[alg], options={"verify_aud": False})

    # -- storage ---------------------------------------------------------------

    def _download(self, request: RecordedRequest, rest: str) -> Reply:
        if _bearer(request) not in (self.service_role_key, self.anon_key):
            return json_reply(400, _storage_error("403", "Unauthorized", "invalid signature"))
        rest = rest.removeprefix("authenticated/")
        bucket, _, object_path = rest.partition("/")
        with self._lock:
            data = self.objects.get((bucket, object_path))
            content_type = self.content_types.get((bucket, object_path))
        if data is None:
            return json_reply(self.missing_object_status, _storage_error("404", "not_found", "Object not found"))
        content_type = content_type or mimetypes.guess_type(object_path)[0] or "application/octet-stream"
        return Reply(
            200,
            data,
            {
                "content-type": content_type,
                "etag": f'"{hashlib.md5(data).hexdigest()}"',
                "cache-control": "max-age=3600",
            },
        )

    def _remove(self, request: RecordedRequest, bucket: str) -> Reply:
        bearer = _bearer(request)
        if bearer not in (self.service_role_key, self.anon_key):
            return json_reply(400, _storage_error("403", "Unauthorized", "invalid signature"))
        body = request.json if isinstance(request.json, dict) else None
        prefixes = body.get("prefixes") if body else None
        if not isinstance(prefixes, list) or not prefixes or not all(isinstance(p, str) for p in prefixes):
            return json_reply(
                400, _storage_error("400", "Bad Request", "body/prefixes must be a non-empty array of strings")
            )
        deleted = []
        with self._lock:
            for name in prefixes if bearer == self.service_role_key else []:
                data = self.objects.pop((bucket, name), None)
                if data is not None:
                    self.content_types.pop((bucket, name), None)
                    self.deleted_objects.append((bucket, name))
                    deleted.append(_object_row(bucket, name, data))
        return json_reply(200, deleted)

    def _list(self, request: RecordedRequest, bucket: str) -> Reply:
        """One folder level, as Storage's search answers it: files by their name within
        the folder (with an id), subfolders as entries whose id is null; sorted by name."""
        if _bearer(request) != self.service_role_key:
            return json_reply(400, _storage_error("403", "Unauthorized", "invalid signature"))
        body = request.json if isinstance(request.json, dict) else {}
        prefix = str(body.get("prefix") or "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        limit, offset = int(body.get("limit") or 100), int(body.get("offset") or 0)
        entries: dict[str, dict] = {}
        with self._lock:
            for (in_bucket, name), data in self.objects.items():
                if in_bucket != bucket or not name.startswith(prefix):
                    continue
                head, slash, _ = name[len(prefix) :].partition("/")
                if slash:
                    entries.setdefault(head, {"name": head, "id": None, "metadata": None})
                else:
                    entries[head] = {**_object_row(bucket, name, data), "name": head}
        self.list_requests.append((bucket, prefix))
        listed = [entries[name] for name in sorted(entries)]
        return json_reply(200, listed[offset : offset + limit])


def _object_row(bucket: str, name: str, data: bytes) -> dict:
    """A storage.objects row as the delete answers it."""
    now = datetime.now(UTC).isoformat()
    return {
        "bucket_id": bucket,
        "name": name,
        "owner": None,
        "owner_id": None,
        "version": str(uuid.uuid4()),
        "id": str(uuid.uuid4()),
        "updated_at": now,
        "created_at": now,
        "last_accessed_at": now,
        "metadata": {
            "size": len(data),
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "eTag": f'"{hashlib.md5(data).hexdigest()}"',
            "cacheControl": "max-age=3600",
        },
        "user_metadata": None,
    }


def _storage_error(status: str, error: str, message: str) -> dict:
    return {"statusCode": status, "error": error, "message": message}


def _gotrue_reply(request: RecordedRequest, status: int, body: Any) -> Reply:
    headers = {API_VERSION_HEADER: API_VERSION} if request.headers.get(API_VERSION_HEADER) else {}
    return json_reply(status, body, headers)


def _gotrue_error(request: RecordedRequest, status: int, code: str, message: str) -> Reply:
    if request.headers.get(API_VERSION_HEADER, "") >= API_VERSION:
        return _gotrue_reply(request, status, {"code": code, "message": message})
    return json_reply(status, {"code": status, "error_code": code, "msg": message})


def _bearer(request: RecordedRequest) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
