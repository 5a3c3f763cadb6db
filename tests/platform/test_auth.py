"""Token verification: every forged or stale token is refused with 401."""

import uuid

import pytest

from shared.platform.auth import SERVICE_CALLER, JwksCache, TokenVerifier, authenticate, constant_time_equals
from shared.platform.errors import Forbidden, Unauthorized
from tests.doubles.supabase_server import SupabaseDouble
from tests.doubles.tokens import (
    KeyPair,
    forge_alg_none,
    forge_expired,
    forge_hs256_with_public_key,
    forge_wrong_audience,
    forge_wrong_issuer,
    mint_hs256,
    tamper_claims,
    tamper_signature,
)

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
SUPABASE = "https://project.supabase.co"
ISSUER = f"{SUPABASE}/auth/v1"


class Keys:
    """Stands in for the JWKS endpoint at the unit level (the HTTP path is tested below)."""

    def __init__(self):
        self.ec, self.rsa = KeyPair("ES256", kid="ec-1"), KeyPair("RS256", kid="rsa-1")
        self.published = [self.ec, self.rsa]
        self.fetches = 0

    async def fetch(self, url):
        self.fetches += 1
        return {"keys": [pair.jwk() for pair in self.published]}


@pytest.fixture
def keys():
    return Keys()


@pytest.fixture
def verifier(keys):
    return TokenVerifier(jwt_secret=SECRET, issuer=ISSUER, jwks=JwksCache("jwks", 600, fetch=keys.fetch))


def sub() -> str:
    return str(uuid.uuid4())


async def test_hs256_token_identifies_the_user(verifier):
    user = sub()
    caller = await verifier.verify(mint_hs256(SECRET, user, supabase_url=SUPABASE))
    assert str(caller.user_id) == user and not caller.is_service


async def test_es256_and_rs256_tokens_verify_through_the_jwks(verifier, keys):
    assert (await verifier.verify(keys.ec.mint(sub(), supabase_url=SUPABASE))).user_id
    assert (await verifier.verify(keys.rsa.mint(sub(), supabase_url=SUPABASE))).user_id
    assert keys.fetches == 1  # cached


@pytest.mark.parametrize(
    "forge, message",
    [
        (lambda k: forge_expired(SECRET, sub(), supabase_url=SUPABASE), "expired"),
        (lambda k: forge_wrong_audience(SECRET, sub(), supabase_url=SUPABASE), "audience"),
        (lambda k: forge_wrong_issuer(SECRET, sub(), supabase_url=SUPABASE), "issuer"),
        (lambda k: mint_hs256(SECRET, "not-a-uuid", supabase_url=SUPABASE), "subject"),
        (lambda k: mint_hs256(SECRET, sub(), supabase_url=SUPABASE, exp=None), "Invalid token"),
        (lambda k: forge_alg_none(sub(), supabase_url=SUPABASE), "Invalid token"),
        (lambda k: forge_hs256_with_public_key(k.rsa, sub(), supabase_url=SUPABASE), "Invalid token"),
        (lambda k: tamper_signature(k.ec.mint(sub(), supabase_url=SUPABASE)), "Invalid token"),
        (lambda k: tamper_claims(mint_hs256(SECRET, sub(), supabase_url=SUPABASE), sub=sub()), "Invalid token"),
        (lambda k: k.ec.mint(sub(), supabase_url=SUPABASE, headers={"kid": "rsa-1"}), "algorithm"),
        (lambda k: "not-a-jwt", "Invalid token"),
    ],
)
async def test_forged_and_stale_tokens_are_refused(verifier, keys, forge, message):
    with pytest.raises(Unauthorized, match=message):
        await verifier.verify(forge(keys))


async def test_unknown_kid_refreshes_the_jwks_once(keys):
    cache = JwksCache("jwks", 600, fetch=keys.fetch)
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=cache)
    keys.published = [keys.ec]
    await verifier.verify(keys.ec.mint(sub(), supabase_url=SUPABASE))
    keys.published = [keys.ec, keys.rsa]  # key rotation: a new kid appears
    cache._fetched_at -= 60  # the last fetch was a minute ago
    assert (await verifier.verify(keys.rsa.mint(sub(), supabase_url=SUPABASE))).user_id
    assert keys.fetches == 2
    # A kid nobody publishes does not trigger a fetch per request.
    stranger = KeyPair("RS256", kid="nope")
    for _ in range(3):
        with pytest.raises(Unauthorized, match="unknown signing key"):
            await verifier.verify(stranger.mint(sub(), supabase_url=SUPABASE))
    assert keys.fetches == 2


async def test_jwks_is_never_cached_longer_than_its_max_age(keys):
    cache = JwksCache("jwks", 600, fetch=keys.fetch)
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=cache)
    token = keys.ec.mint(sub(), supabase_url=SUPABASE)
    await verifier.verify(token)
    cache._fetched_at -= 601
    await verifier.verify(token)
    assert keys.fetches == 2


async def test_symmetric_tokens_refused_when_no_secret_is_configured(keys):
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=JwksCache("jwks", 600, fetch=keys.fetch))
    with pytest.raises(Unauthorized):
        await verifier.verify(mint_hs256(SECRET, sub(), supabase_url=SUPABASE))


@pytest.mark.io  # a JWKS endpoint on loopback
async def test_jwks_fetched_over_http_from_the_project():
    pair = KeyPair("ES256")
    with SupabaseDouble(jwks_keys=[pair.jwk()]) as supabase:
        cache = JwksCache(f"{supabase.url}/auth/v1/.well-known/jwks.json", 600)
        verifier = TokenVerifier(jwt_secret=None, issuer=f"{supabase.url}/auth/v1", jwks=cache)
        for _ in range(3):
            assert (await verifier.verify(pair.mint(sub(), supabase_url=supabase.url))).user_id
        assert supabase.jwks_fetches == 1


async def test_unreachable_jwks_is_401_not_500():
    verifier = TokenVerifier(jwt_secret=None, issuer=ISSUER, jwks=JwksCache("http://127.0.0.1:9/jwks", 600))
    with pytest.raises(Unauthorized, match="unavailable"):
        await verifier.verify(KeyPair("ES256").mint(sub(), supabase_url=SUPABASE))


async def test_service_key_and_bearer_rules(verifier):
    assert (
        await authenticate({"x-service-key": "k" * 32}, verifier, "k" * 32, allow_user=False, allow_service=True)
        is SERVICE_CALLER
    )
    with pytest.raises(Unauthorized):
        await authenticate({"x-service-key": "wrong"}, verifier, "k" * 32, allow_user=True, allow_service=True)
    with pytest.raises(Unauthorized):
        await authenticate({}, verifier, "k" * 32, allow_user=True, allow_service=True)
    with pytest.raises(Unauthorized):
        await authenticate({"authorization": "Basic abc"}, verifier, None, allow_user=True, allow_service=False)
    token = mint_hs256(SECRET, sub(), supabase_url=SUPABASE)
    with pytest.raises(Forbidden):
        await authenticate(
            {"authorization": f"Bearer {token}"}, verifier, "k" * 32, allow_user=False, allow_service=True
        )


def test_constant_time_equals_handles_missing_values():
    assert constant_time_equals("abc", "abc")
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals("", "")
    assert not constant_time_equals(None, "abc")
