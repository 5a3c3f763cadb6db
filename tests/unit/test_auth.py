"""Token verification: every forged or stale token is refused with 401."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.auth import SERVICE_CALLER, JwksCache, TokenVerifier, authenticate, constant_time_equals
from shared.errors import Forbidden, Unauthorized

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
ISSUER = "https://project.supabase.co/auth/v1"


def claims(**overrides):
    now = int(time.time())
    return {"sub": str(uuid.uuid4()), "aud": "authenticated", "iss": ISSUER, "iat": now, "exp": now + 600,
            **overrides}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    def __init__(self):
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0
        self.published = ["ec-1", "rsa-1"]

    def jwks(self):
        keys = []
        for kid, key, alg in (("ec-1", self.ec, "ES256"), ("rsa-1", self.rsa, "RS256")):
            if kid in self.published:
                algorithm = jwt.algorithms.ECAlgorithm if alg == "ES256" else jwt.algorithms.RSAAlgorithm
                jwk = json.loads(algorithm.to_jwk(key.public_key()))
                keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    async def fetch(self, url):
        self.fetches += 1
        return self.jwks()


@pytest.fixture
def keys():
    return Keys()


@pytest.fixture
def verifier(keys):
    return TokenVerifier(jwt_secret=SECRET, issuer=ISSUER,
                         jwks=JwksCache("https://project.supabase.co/jwks", 600, fetch=keys.fetch))


async def test_hs256_token_identifies_the_user(verifier):
    payload = claims()
    caller = await verifier.verify(jwt.encode(payload, SECRET, algorithm="HS256"))
    assert str(caller.user_id) == payload["sub"] and not caller.is_service


async def test_es256_and_rs256_tokens_verify_through_the_jwks(verifier, keys):
    es = jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "ec-1"})
    rs = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    assert (await verifier.verify(es)).user_id
    assert (await verifier.verify(rs)).user_id
    assert keys.fetches == 1  # cached


@pytest.mark.parametrize("bad, message", [
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"aud": "anon"}, "audience"),
    ({"iss": "https://evil.example/auth/v1"}, "issuer"),
    ({"sub": "not-a-uuid"}, "subject"),
])
async def test_bad_claims_are_refused(verifier, bad, message):
    with pytest.raises(Unauthorized, match=message):
        await verifier.verify(jwt.encode(claims(**bad), SECRET, algorithm="HS256"))


async def test_a_token_without_exp_is_refused(verifier):
    payload = claims()
    del payload["exp"]
    with pytest.raises(Unauthorized):
        await verifier.verify(jwt.encode(payload, SECRET, algorithm="HS256"))


async def test_alg_none_is_refused(verifier):
    token = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}."
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_hs256_signed_with_the_public_key_is_refused(verifier, keys):
    """Algorithm confusion: an attacker signs HS256 with our published public key."""
    public_pem = keys.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(Unauthorized):
        await verifier.verify(f"{header}.{body}.{signature}")


async def test_asymmetric_alg_with_a_key_of_the_other_type_is_refused(verifier, keys):
    token = jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthorized, match="algorithm"):
        await verifier.verify(token)


async def test_tampered_signature_is_refused(verifier):
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    head, body, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged["sub"] = str(uuid.uuid4())
    with pytest.raises(Unauthorized):
        await verifier.verify(f"{head}.{b64(json.dumps(forged).encode())}.{sig}")


async def test_unknown_kid_refreshes_the_jwks_once(keys):
    cache = JwksCache("u", 600, fetch=keys.fetch)
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=cache)
    keys.published = ["ec-1"]
    await verifier.verify(jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "ec-1"}))
    keys.published = ["ec-1", "rsa-1"]  # key rotation: a new kid appears
    cache._fetched_at -= 60  # the last fetch was a minute ago
    rs = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    assert (await verifier.verify(rs)).user_id
    assert keys.fetches == 2
    # A kid nobody publishes does not trigger a fetch per request.
    for _ in range(3):
        with pytest.raises(Unauthorized, match="unknown signing key"):
            await verifier.verify(jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "nope"}))
    assert keys.fetches == 2


async def test_jwks_is_never_cached_longer_than_its_max_age(keys):
    cache = JwksCache("u", 600, fetch=keys.fetch)
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=cache)
    token = jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "ec-1"})
    await verifier.verify(token)
    cache._fetched_at -= 601
    await verifier.verify(token)
    assert keys.fetches == 2


async def test_symmetric_tokens_refused_when_no_secret_is_configured(keys):
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=JwksCache("u", 600, fetch=keys.fetch))
    with pytest.raises(Unauthorized):
        await verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))


async def test_service_key_and_bearer_rules(verifier):
    assert await authenticate({"x-service-key": "k" * 32}, verifier, "k" * 32,
                              allow_user=False, allow_service=True) is SERVICE_CALLER
    with pytest.raises(Unauthorized):
        await authenticate({"x-service-key": "wrong"}, verifier, "k" * 32, allow_user=True, allow_service=True)
    with pytest.raises(Unauthorized):
        await authenticate({}, verifier, "k" * 32, allow_user=True, allow_service=True)
    with pytest.raises(Unauthorized):
        await authenticate({"authorization": "Basic abc"}, verifier, None, allow_user=True, allow_service=False)
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    with pytest.raises(Forbidden):
        await authenticate({"authorization": f"Bearer {token}"}, verifier, "k" * 32,
                           allow_user=False, allow_service=True)


def test_constant_time_equals_handles_missing_values():
    assert constant_time_equals("abc", "abc")
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals("", "")
    assert not constant_time_equals(None, "abc")
