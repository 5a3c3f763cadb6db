"""Who is calling: Supabase access tokens verified locally, and service keys.

HS256 tokens are checked with the project's JWT secret; ES256/RS256 tokens
with the project's JWKS (cached at most JWKS_CACHE_SECONDS, refreshed on an
unknown key id). The algorithm comes from the key we hold, never from the
token alone, so `alg: none` and HS256-signed-with-a-public-key are refused.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.platform.errors import BadCredentials, Forbidden, Unauthorized

ASYMMETRIC_ALGORITHMS = {"ES256": "EC", "RS256": "RSA"}
LEEWAY_SECONDS = 30
MIN_JWKS_REFRESH_SECONDS = 30  # an unknown kid must not let callers hammer the JWKS endpoint

ORG_ADMIN_ROLES = frozenset({"admin", "org_admin"})
ORG_RECRUITER_ROLES = frozenset({"admin", "org_admin", "recruiter", "hiring_manager"})


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a Supabase user, or a trusted service."""

    user_id: uuid.UUID | None = None
    is_service: bool = False
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_anonymous(self) -> bool:
        """A Supabase anonymous sign-in: a session anyone gets without an account."""
        return self.claims.get("is_anonymous") is True

    @property
    def rate_key(self) -> str:
        return "service" if self.is_service else f"user:{self.user_id}"


SERVICE_CALLER = Caller(is_service=True)


def constant_time_equals(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class JwksCache:
    """The project's public keys by kid, fetched lazily and kept briefly."""

    def __init__(self, url: str, max_age: float, fetch: Callable[[str], Awaitable[dict[str, Any]]] | None = None):
        self.url = url
        self.max_age = max_age
        self._fetch = fetch or _fetch_json
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None, alg: str) -> Any:
        now = time.monotonic()
        fresh = now - self._fetched_at < self.max_age
        if not fresh or (kid not in self._keys and now - self._fetched_at >= MIN_JWKS_REFRESH_SECONDS):
            await self._refresh(now)
        entry = self._keys.get(kid) if kid else None
        if entry is None and kid is None and len(self._keys) == 1:
            entry = next(iter(self._keys.values()))
        if entry is None:
            raise BadCredentials("Invalid token: unknown signing key")
        key_type, key = entry
        if key_type != ASYMMETRIC_ALGORITHMS[alg]:
            raise BadCredentials("Invalid token: algorithm does not match the signing key")
        return key

    async def _refresh(self, now: float) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1:  # another task just refreshed
                return
            from jwt import PyJWK

            try:
                document = await self._fetch(self.url)
            except Exception:
                if self._keys:  # keep serving the keys we have
                    return
                raise Unauthorized("Token keys are unavailable") from None
            keys: dict[str, Any] = {}
            for jwk in document.get("keys", []):
                try:
                    parsed = PyJWK(jwk)
                except Exception:  # noqa: S112  a key type we do not use (e.g. oct): skipped on purpose
                    continue
                keys[jwk.get("kid")] = (jwk.get("kty"), parsed.key)
            self._keys = keys
            self._fetched_at = now


async def _fetch_json(url: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document


class TokenVerifier:
    def __init__(
        self, *, jwt_secret: str | None, issuer: str | None, jwks: JwksCache | None, audience: str = "authenticated"
    ):
        self.jwt_secret = jwt_secret
        self.issuer = issuer
        self.jwks = jwks
        self.audience = audience

    async def verify(self, token: str) -> Caller:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise BadCredentials("Invalid token") from None
        alg = header.get("alg")
        if alg == "HS256":
            if not self.jwt_secret:
                raise BadCredentials("Invalid token: symmetric tokens are not accepted")
            key: Any = self.jwt_secret
        elif alg in ASYMMETRIC_ALGORITHMS and self.jwks is not None:
            key = await self.jwks.key_for(header.get("kid"), alg)
        else:
            raise BadCredentials("Invalid token: unsupported algorithm")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub", "aud"]},
            )
        # Expired, or for another audience or issuer: signed with our key, so not a
        # guess (only forged or malformed credentials count against the address).
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("Invalid token: wrong audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("Invalid token: wrong issuer") from None
        except jwt.PyJWTError:
            raise BadCredentials("Invalid token") from None
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise Unauthorized("Invalid token: subject is not a user id") from None
        return Caller(user_id=user_id, claims=claims)


async def authenticate(
    headers: Mapping[str, str],
    verifier: TokenVerifier,
    service_key: str | None,
    *,
    allow_user: bool,
    allow_service: bool,
) -> Caller:
    """Identify the caller from request headers, or raise 401."""
    presented_key = headers.get("x-service-key")
    if allow_service and presented_key is not None:
        if constant_time_equals(presented_key, service_key):
            return SERVICE_CALLER
        raise BadCredentials("Invalid service key")
    authorization = headers.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token")
    if not allow_user:
        raise Forbidden("This endpoint is for services only")
    return await verifier.verify(token.strip())


def require_role(role: str | None, allowed: frozenset[str], what: str = "this organisation") -> str:
    """Raise 403 unless `role` (the caller's org_users role) is allowed."""
    if role is None:
        raise Forbidden(f"You are not a member of {what}")
    if role not in allowed:
        raise Forbidden(f"Your role ({role}) is not allowed to do this")
    return role
