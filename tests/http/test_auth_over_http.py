"""Asymmetric Supabase tokens end to end: the local host fetches the project's
JWKS from a Supabase double and accepts ES256 tokens, refusing forgeries."""

import uuid

import httpx
import pytest

from tests.doubles.supabase_server import SupabaseDouble
from tests.doubles.tokens import KeyPair, forge_hs256_with_public_key
from tests.support import create_user


@pytest.fixture(scope="module")
def supabase():
    pair = KeyPair("ES256")
    with SupabaseDouble(jwks_keys=[pair.jwk()]) as double:
        double.pair = pair
        yield double


@pytest.fixture(scope="module")
def jwks_host(devhosts, supabase):
    return devhosts.start({"SUPABASE_URL": supabase.url, "SUPABASE_JWT_SECRET": "hs-secret-" + "x" * 32})


async def test_es256_token_creates_an_organisation(jwks_host, supabase, db):
    user = await create_user(db)
    token = supabase.pair.mint(str(user), supabase_url=supabase.url)
    async with httpx.AsyncClient(base_url=jwks_host) as client:
        response = await client.post(
            "/api/organisations",
            json={"name": "Keyed Ltd"},
            headers={"authorization": f"Bearer {token}", "x-forwarded-for": f"2001:db8:{uuid.uuid4().hex[:4]}::1"},
        )
    assert response.status_code == 200, response.text
    assert supabase.jwks_fetches >= 1


async def test_algorithm_confusion_is_refused_over_http(jwks_host, supabase):
    forged = forge_hs256_with_public_key(supabase.pair, str(uuid.uuid4()), supabase_url=supabase.url)
    async with httpx.AsyncClient(base_url=jwks_host) as client:
        response = await client.post(
            "/api/organisations", json={"name": "Forged"}, headers={"authorization": f"Bearer {forged}"}
        )
    assert response.status_code == 401 and response.json() == {
        "error": "Invalid token",
        "requestId": response.headers["x-request-id"],
    }
