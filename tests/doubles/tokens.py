"""Mint Supabase-style access tokens (good and deliberately bad) for tests.

Default claims follow Supabase Auth: iss ``<supabase_url>/auth/v1``, aud and
role ``authenticated``, exp one hour ahead. Keyword overrides replace claims;
an override of ``None`` removes that claim (e.g. ``exp=None``).

    pair = KeyPair("ES256")                       # or "RS256"
    double = SupabaseDouble(jwks_keys=[pair.jwk()])
    good = pair.mint(user_id, supabase_url=double.url)
    bad = forge_hs256_with_public_key(pair, user_id, supabase_url=double.url)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DEFAULT_SUPABASE_URL = "http://127.0.0.1:54321"  # the Supabase CLI's local default


def claims_for(sub: str, supabase_url: str = DEFAULT_SUPABASE_URL, **overrides: Any) -> dict:
    now = int(time.time())
    claims = {
        "iss": f"{supabase_url.rstrip('/')}/auth/v1",
        "aud": "authenticated",
        "role": "authenticated",
        "sub": sub,
        "iat": now,
        "exp": now + 3600,
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def mint_hs256(
    secret: str | bytes,
    sub: str,
    *,
    supabase_url: str = DEFAULT_SUPABASE_URL,
    headers: dict | None = None,
    **overrides: Any,
) -> str:
    """A token signed like a legacy Supabase project (shared JWT secret)."""
    return jwt.encode(claims_for(sub, supabase_url, **overrides), secret, algorithm="HS256", headers=headers)


class KeyPair:
    """An asymmetric signing key like Supabase's new JWT signing keys."""

    def __init__(self, alg: str = "ES256", kid: str | None = None) -> None:
        if alg == "ES256":
            self.private_key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(f"unsupported alg {alg!r}")
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex
        self.public_key = self.private_key.public_key()
        self.public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict:
        """The public key as served in a JWKS."""
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = algorithm.to_jwk(self.public_key, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig", "key_ops": ["verify"]}

    def jwks(self) -> dict:
        return {"keys": [self.jwk()]}

    def mint(
        self, sub: str, *, supabase_url: str = DEFAULT_SUPABASE_URL, headers: dict | None = None, **overrides: Any
    ) -> str:
        return jwt.encode(
            claims_for(sub, supabase_url, **overrides),
            self.private_key,
            algorithm=self.alg,
            headers={"kid": self.kid, **(headers or {})},
        )


Signer = KeyPair | str | bytes  # a KeyPair, or an HS256 secret


def mint(signer: Signer, sub: str, **options: Any) -> str:
    if isinstance(signer, KeyPair):
        return signer.mint(sub, **options)
    return mint_hs256(signer, sub, **options)


# -- forged and broken tokens ------------------------------------------------------


def forge_alg_none(
    sub: str, *, supabase_url: str = DEFAULT_SUPABASE_URL, kid: str | None = None, **overrides: Any
) -> str:
    """Unsigned (``alg: none``), with an empty signature part."""
    header = {"alg": "none", "typ": "JWT", **({"kid": kid} if kid else {})}
    return f"{_segment(header)}.{_segment(claims_for(sub, supabase_url, **overrides))}."


def forge_expired(signer: Signer, sub: str, **options: Any) -> str:
    now = int(time.time())
    return mint(signer, sub, iat=now - 7200, exp=now - 3600, **options)


def forge_wrong_audience(signer: Signer, sub: str, aud: str = "anon", **options: Any) -> str:
    return mint(signer, sub, aud=aud, **options)


def forge_wrong_issuer(signer: Signer, sub: str, iss: str = "https://attacker.example/auth/v1", **options: Any) -> str:
    return mint(signer, sub, iss=iss, **options)


def forge_hs256_with_public_key(
    pair: KeyPair, sub: str, *, supabase_url: str = DEFAULT_SUPABASE_URL, **overrides: Any
) -> str:
    """Algorithm confusion: HS256 keyed with the public key's PEM bytes, carrying
    the real kid. Built by hand because PyJWT refuses PEM keys for HMAC."""
    header = {"alg": "HS256", "typ": "JWT", "kid": pair.kid}
    signing_input = f"{_segment(header)}.{_segment(claims_for(sub, supabase_url, **overrides))}"
    signature = hmac.new(pair.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def tamper_signature(token: str) -> str:
    """Same header and claims, one signature byte flipped."""
    head, payload, signature = token.split(".")
    raw = bytearray(_b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{_b64url(bytes(raw))}"


def tamper_claims(token: str, **changes: Any) -> str:
    """Change claims but keep the original signature (e.g. ``sub=victim``)."""
    head, payload, signature = token.split(".")
    claims = {**json.loads(_b64url_decode(payload)), **changes}
    return f"{head}.{_segment(claims)}.{signature}"


def _segment(obj: dict) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
