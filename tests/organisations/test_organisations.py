"""POST /api/organisations called as the worker calls it, on a real database."""

import json
import uuid

import pytest

from tests.support import auth_headers, call_function, clear_of_window_edge, create_user, user_token

pytestmark = pytest.mark.usefixtures("services")


async def post(body, user_id=None, headers=None, ip="127.0.0.1", raw=None):
    headers = {**(auth_headers(user_id) if user_id else {}), **(headers or {})}
    return await call_function("organisations", "POST", raw if raw is not None else body, headers, client_ip=ip)


async def test_creates_organisation_membership_role_and_audit_in_one_go(db, unique_ip):
    user = await create_user(db)
    result = await post(
        {
            "name": "Acme Corporation",
            "industry": "Software",
            "website": "https://acme.example",
            "description": "We build things",
            "billing_email": "billing@acme.example",
            "someFieldTheFrontendAdds": True,
        },
        user,
        ip=unique_ip,
    )
    assert result.status == 200, result
    org = result.json()["organisation"]
    assert org["name"] == "Acme Corporation" and org["billing_email"] == "billing@acme.example"
    assert set(org) == {"id", "name", "industry", "website", "description", "billing_email", "created_at", "updated_at"}
    org_id = uuid.UUID(org["id"])
    assert (
        await db.fetch_one("select role from org_users where organisation_id = %s and user_id = %s", (org_id, user))
    )["role"] == "admin"
    assert await db.fetch_one("select 1 from user_roles where user_id = %s and role = 'org_admin'", (user,))
    audit = await db.fetch_one("select * from audit_log where entity_id = %s", (org_id,))
    assert audit["action"] == "organisation.created" and audit["user_id"] == user
    assert audit["ip_address"] == unique_ip
    assert result.headers["x-request-id"]


async def test_optional_fields_may_be_null_and_app_role_is_granted_once(db, unique_ip):
    user = await create_user(db)
    for name in ("First", "Second"):
        result = await post(
            {"name": name, "industry": None, "website": None, "description": None, "billing_email": None},
            user,
            ip=unique_ip,
        )
        assert result.status == 200, result
    count = await db.fetch_one("select count(*) as n from user_roles where user_id = %s", (user,))
    assert count["n"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": "Acme", "website": "javascript:alert(1)"}, "website"),
        ({"name": "Acme", "billing_email": "not-an-email"}, "billing_email"),
    ],
)
async def test_invalid_fields_get_400_with_details(db, body, field, unique_ip):
    user = await create_user(db)
    result = await post(body, user, ip=unique_ip)
    assert result.status == 400
    assert result.json()["error"] == "Invalid request body"
    assert [d["field"] for d in result.json()["details"]] == [field]


@pytest.mark.parametrize(
    "raw, status",
    [
        ("{not json", 400),
        ("[1, 2]", 400),
        ('"a string"', 400),
    ],
)
async def test_malformed_bodies(db, raw, status, unique_ip):
    user = await create_user(db)
    result = await post(None, user, raw=raw, headers={"content-type": "application/json"}, ip=unique_ip)
    assert result.status == status and "error" in result.json()


async def test_wrong_content_type_is_415_and_oversize_is_413(db, unique_ip):
    user = await create_user(db)
    result = await post(
        None, user, raw="name=Acme", headers={"content-type": "application/x-www-form-urlencoded"}, ip=unique_ip
    )
    assert result.status == 415
    big = json.dumps({"name": "Acme", "description": "x" * (1024 * 1024)})
    result = await post(None, user, raw=big, ip=unique_ip)
    assert result.status == 413 and result.json()["error"]


async def test_wrong_method_is_405_with_allow_header():
    result = await call_function("organisations", "GET")
    assert result.status == 405 and result.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer not.a.token"},
        {
            "authorization": f"Bearer {user_token(uuid.uuid4(), secret='some-other-secret-entirely-different-from-ours')}"
        },
        {"authorization": f"Bearer {user_token(uuid.uuid4(), aud='anon')}"},
        {"authorization": f"Bearer {user_token(uuid.uuid4(), exp=1)}"},
    ],
)
async def test_missing_or_forged_tokens_are_401_and_write_nothing(db, headers):
    before = await db.fetch_one("select count(*) as n from organisations")
    result = await call_function("organisations", "POST", {"name": "Forged"}, headers)
    assert result.status == 401 and result.json()["error"]
    after = await db.fetch_one("select count(*) as n from organisations")
    assert before["n"] == after["n"]


async def test_failure_halfway_leaves_nothing_behind(db, unique_ip):
    """A valid token whose user is gone from auth.users: the membership insert
    fails after the organisation row was written, and the whole transaction rolls back."""
    ghost = uuid.uuid4()
    name = f"Ghost {ghost}"
    result = await post({"name": name}, ghost, ip=unique_ip)
    assert result.status == 403
    assert await db.fetch_one("select 1 from organisations where name = %s", (name,)) is None
    assert await db.fetch_one("select 1 from audit_log where new_values->>'name' = %s", (name,)) is None


async def test_rate_limited_after_ten_a_minute(db, unique_ip):
    user = await create_user(db)
    await clear_of_window_edge()
    statuses = [(await post({"name": f"Org {i}"}, user, ip=unique_ip)).status for i in range(11)]
    assert statuses[:10] == [200] * 10
    limited = await post({"name": "One too many"}, user, ip=unique_ip)
    assert limited.status == 429
    body = limited.json()
    assert "Rate limit" in body["error"] and body["retryAfter"] >= 1
    assert limited.headers["retry-after"] == str(body["retryAfter"])


async def test_request_id_is_echoed_and_errors_never_leak_internals(db, monkeypatch, unique_ip):
    user = await create_user(db)

    async def explode(*args, **kwargs):
        raise RuntimeError("connection to secret-host failed: password=hunter2")

    monkeypatch.setattr("shared.organisations.service.create_organisation", explode)
    result = await post({"name": "Boom"}, user, headers={"x-request-id": "req-123"}, ip=unique_ip)
    assert result.status == 500
    assert result.json() == {"error": "Internal server error", "requestId": "req-123"}
    assert result.headers["x-request-id"] == "req-123"
