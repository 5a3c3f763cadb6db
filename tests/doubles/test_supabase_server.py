"""Self-tests: the real supabase async client against SupabaseDouble."""

import uuid

import httpx
import pytest
import pytest_asyncio
from storage3.exceptions import StorageApiError
from supabase import create_async_client
from supabase_auth.errors import AuthApiError

from tests.doubles.supabase_server import SupabaseDouble
from tests.doubles.tokens import KeyPair, mint_hs256, tamper_signature

SECRET = "super-secret-jwt-token-with-at-least-32-characters"


@pytest.fixture(scope="module")
def pair():
    return KeyPair("ES256")


@pytest.fixture
def double(pair):
    with SupabaseDouble(service_role_key="srk", anon_key="anon", jwks_keys=[pair.jwk()], jwt_secret=SECRET) as d:
        yield d


@pytest_asyncio.fixture
async def clients(double):
    """Builds supabase clients and closes their HTTP pools afterwards
    (the supabase client itself has no close method)."""
    made = []

    async def make(key="srk"):
        client = await create_async_client(double.url, key)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.auth.close()  # the admin API shares this pool
        if client._storage is not None:
            await client._storage.session.aclose()


@pytest.mark.asyncio
async def test_storage_download(clients, double):
    double.put_object("recordings", "interviews/42/take 1.webm", b"\x1a\x45\xdf\xa3data")
    client = await clients()
    data = await client.storage.from_("recordings").download("interviews/42/take 1.webm")
    assert data == b"\x1a\x45\xdf\xa3data"
    req = double.requests[-1]
    assert req.raw_path == "/storage/v1/object/recordings/interviews/42/take%201.webm"
    assert req.headers["apikey"] == "srk" and req.headers["authorization"] == "Bearer srk"


@pytest.mark.asyncio
async def test_storage_missing_object_and_injected_failure(clients, double):
    client = await clients()
    with pytest.raises(StorageApiError) as err:
        await client.storage.from_("recordings").download("nope.webm")
    assert err.value.status == "404" and err.value.message == "Object not found"
    double.fail_next(500, path="/storage/")
    double.put_object("recordings", "x.webm", b"x")
    with pytest.raises(StorageApiError) as err:
        await client.storage.from_("recordings").download("x.webm")
    assert err.value.status == "500"


@pytest.mark.asyncio
async def test_storage_remove(clients, double):
    double.put_object("cvs", "u1/cv 1.pdf", b"%PDF-1.7")
    double.put_object("cvs", "u1/keep.pdf", b"%PDF-1.7")
    client = await clients()
    deleted = await client.storage.from_("cvs").remove(["u1/cv 1.pdf", "u1/missing.pdf"])
    assert [row["name"] for row in deleted] == ["u1/cv 1.pdf"] and deleted[0]["bucket_id"] == "cvs"
    assert double.deleted_objects == [("cvs", "u1/cv 1.pdf")]
    assert set(double.objects) == {("cvs", "u1/keep.pdf")}
    req = double.requests_to("/storage/v1/object/", "DELETE")[0]
    assert req.raw_path == "/storage/v1/object/cvs" and req.json == {"prefixes": ["u1/cv 1.pdf", "u1/missing.pdf"]}
    assert req.headers["apikey"] == "srk" and req.headers["authorization"] == "Bearer srk"
    assert await client.storage.from_("cvs").remove(["u1/cv 1.pdf"]) == []  # already gone: 200, nothing listed


@pytest.mark.asyncio
async def test_storage_remove_anon_bad_body_and_injected_failure(clients, double):
    double.put_object("cvs", "u1/cv.pdf", b"%PDF")
    anon = await clients(key="anon")
    assert await anon.storage.from_("cvs").remove(["u1/cv.pdf"]) == []  # no policy lets anon delete
    client = await clients()
    with pytest.raises(StorageApiError) as err:
        await client.storage.from_("cvs").remove([])
    assert err.value.status == "400"
    double.fail_next(500, path="/storage/v1/object/cvs")
    with pytest.raises(StorageApiError) as err:
        await client.storage.from_("cvs").remove(["u1/cv.pdf"])
    assert err.value.status == "500" and double.deleted_objects == []
    assert [row["name"] for row in await client.storage.from_("cvs").remove(["u1/cv.pdf"])] == ["u1/cv.pdf"]


@pytest.mark.asyncio
async def test_admin_get_and_delete_user(clients, double):
    user = double.add_user(email="ana@example.test")
    client = await clients()
    fetched = await client.auth.admin.get_user_by_id(user["id"])
    assert fetched.user.email == "ana@example.test"
    await client.auth.admin.delete_user(user["id"])
    assert double.deleted_users == [user["id"]]
    deleted = double.requests_to("/auth/v1/admin/users/", "DELETE")[0]
    assert deleted.json == {"should_soft_delete": False}
    with pytest.raises(AuthApiError) as err:
        await client.auth.admin.delete_user(user["id"])
    assert err.value.status == 404 and err.value.code == "user_not_found"


@pytest.mark.asyncio
async def test_admin_needs_service_role_and_failures_surface(clients, double):
    user = double.add_user()
    anon = await clients(key="anon")
    with pytest.raises(AuthApiError) as err:
        await anon.auth.admin.delete_user(user["id"])
    assert err.value.status == 403 and err.value.code == "not_admin"
    double.fail_next(500, path="/auth/v1/admin/")
    client = await clients()
    with pytest.raises(AuthApiError) as err:
        await client.auth.admin.delete_user(user["id"])
    assert err.value.status == 500 and double.deleted_users == []


@pytest.mark.asyncio
async def test_get_claims_uses_jwks_and_user_endpoint(clients, double, pair):
    user = double.add_user()
    client = await clients(key="anon")
    token = pair.mint(user["id"], supabase_url=double.url)
    claims = await client.auth.get_claims(token)
    assert claims["claims"]["sub"] == user["id"] and double.jwks_fetches == 1
    await client.auth.get_claims(token)
    assert double.jwks_fetches == 1  # cached by the SDK
    hs = mint_hs256(SECRET, user["id"], supabase_url=double.url)
    assert (await client.auth.get_claims(hs))["claims"]["sub"] == user["id"]
    with pytest.raises(AuthApiError) as err:
        await client.auth.get_claims(tamper_signature(hs))
    assert err.value.status == 403 and err.value.code == "bad_jwt"


def test_gateway_rejects_missing_apikey_and_jwks_is_public(double, pair):
    with httpx.Client(base_url=double.url, timeout=5) as http:
        jwks = http.get("/auth/v1/.well-known/jwks.json").json()
        assert jwks == {"keys": [pair.jwk()]}
        assert http.get(f"/auth/v1/admin/users/{uuid.uuid4()}").status_code == 401
        assert http.get("/storage/v1/object/b/x", headers={"apikey": "bad"}).status_code == 401
