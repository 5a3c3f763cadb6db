"""POST /api/acs/token: the real azure-communication-identity SDK against the ACS
identity double (which verifies the SDK's HMAC signature), on a real database."""

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.acs_identity import parse_connection_string
from shared.calls.service import issue_acs_token
from shared.platform.errors import Forbidden, NotConfigured, UpstreamError
from tests.ai.seed import create_org
from tests.calls.seed import member
from tests.support import auth_headers, call_function

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def stored_identity(db, user_id):
    row = await db.fetch_one("select communication_user_id from app.acs_identities where user_id = %s", (user_id,))
    return row and row["communication_user_id"]


async def test_first_token_creates_and_stores_the_identity_later_ones_reuse_it(db, acs, acs_double):
    user = await member(db)
    first = await issue_acs_token(db, acs, user, None)
    assert first.user.communicationUserId.startswith("8:acs:")
    assert await stored_identity(db, user) == first.user.communicationUserId
    second = await issue_acs_token(db, acs, user, ["voip", "chat"])
    assert second.user.communicationUserId == first.user.communicationUserId
    assert second.token != first.token
    assert acs_double.identities_created == 1 and acs_double.tokens_issued == 2
    assert acs_double.rejected_requests == 0  # every request carried a valid HMAC signature
    created, issued = acs_double.requests_to("/identities", "POST")
    assert created.json["createTokenWithScopes"] == ["voip"]  # the default scope
    assert issued.json["scopes"] == ["voip", "chat"]


async def test_expires_on_is_iso_utc_from_the_service_answer(db, acs):
    token = await issue_acs_token(db, acs, await member(db), ["chat"])
    assert ISO_UTC.match(token.expiresOn)
    expires = datetime.fromisoformat(token.expiresOn.replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)


async def test_simultaneous_first_requests_leave_one_identity(db, acs, acs_double):
    user = await member(db)
    results = await asyncio.gather(*(issue_acs_token(db, acs, user, None) for _ in range(6)))
    assert {r.user.communicationUserId for r in results} == {await stored_identity(db, user)}
    assert acs_double.identities_created == 1
    assert len({r.token for r in results}) == 6


async def test_acs_failure_is_502_and_stores_nothing_then_a_retry_works(db, acs, acs_double):
    user = await member(db)
    acs_double.fail_next(500)
    with pytest.raises(UpstreamError) as failure:
        await issue_acs_token(db, acs, user, None)
    assert failure.value.status == 502
    assert await stored_identity(db, user) is None
    assert (await issue_acs_token(db, acs, user, None)).user.communicationUserId == await stored_identity(db, user)


async def test_token_failure_for_a_known_identity_is_502(db, acs, acs_double):
    user = await member(db)
    await issue_acs_token(db, acs, user, None)
    acs_double.fail_next(503, path="/identities/")
    with pytest.raises(UpstreamError):
        await issue_acs_token(db, acs, user, None)


async def test_an_identity_deleted_at_acs_is_replaced(db, acs, acs_double):
    user = await member(db)
    old = (await issue_acs_token(db, acs, user, None)).user.communicationUserId
    acs_double.identities.pop(old)
    new = (await issue_acs_token(db, acs, user, None)).user.communicationUserId
    assert new != old and await stored_identity(db, user) == new


async def test_a_user_missing_from_auth_users_gets_403_and_no_acs_identity(db, acs, acs_double):
    with pytest.raises(Forbidden):  # no membership or interview can name a user auth does not know
        await issue_acs_token(db, acs, uuid.uuid4(), None)
    assert acs_double.identities_created == 0


def test_connection_string_parsing_keeps_key_padding_and_drops_the_trailing_slash():
    endpoint, key = parse_connection_string("endpoint=https://acs-x.communication.azure.com/;accesskey=abc+/def==")
    assert (endpoint, key) == ("https://acs-x.communication.azure.com", "abc+/def==")
    with pytest.raises(NotConfigured):
        parse_connection_string("endpoint=https://acs-x.communication.azure.com/")


async def test_settings_choose_the_key_or_managed_identity():
    from shared.adapters.acs_identity import build_acs_identity
    from shared.platform.config import Settings

    connection_string = "endpoint=https://a.example/;accesskey=a2V5"
    keyed = build_acs_identity(Settings(APP_ENV="test", ACS_CONNECTION_STRING=connection_string))
    managed = build_acs_identity(Settings(APP_ENV="test", ACS_ENDPOINT="https://b.example/"))
    assert (keyed.endpoint, managed.endpoint) == ("https://a.example", "https://b.example")
    assert type(managed._credential).__name__ == "DefaultAzureCredential"
    await managed.close()
    with pytest.raises(NotConfigured, match="ACS_CONNECTION_STRING or ACS_ENDPOINT"):
        build_acs_identity(Settings(APP_ENV="test"))


# --- through the function, as the worker calls it ---------------------------------------


@pytest.fixture
def acs_services(services, acs):
    services.__dict__["acs_identity"] = acs
    yield services
    services.__dict__.pop("acs_identity", None)


async def post_token(body, user=None, ip="127.0.0.1", headers=None):
    headers = {**(auth_headers(user) if user else {}), **(headers or {})}
    return await call_function("acs_token", "POST", body, headers, client_ip=ip, path="/api/acs/token")


async def test_function_answers_the_contract_shape(db, acs_services, unique_ip):
    user = await member(db)
    # The frontend also sends userId: ignored, the identity is always the caller's.
    result = await post_token({"userId": str(uuid.uuid4()), "scopes": ["voip", "chat"]}, user, unique_ip)
    assert result.status == 200, result
    body = result.json()
    assert set(body) == {"token", "expiresOn", "user"} and ISO_UTC.match(body["expiresOn"])
    assert body["user"] == {"communicationUserId": await stored_identity(db, user)}
    empty = await call_function("acs_token", "POST", None, auth_headers(user), client_ip=unique_ip)
    assert empty.status == 200 and empty.json()["user"] == body["user"]


@pytest.mark.parametrize("scopes", [["admin"], ["voip", "pstn"], "voip", [1]])
async def test_unknown_scopes_are_400(db, acs_services, acs_double, scopes, unique_ip):
    result = await post_token({"scopes": scopes}, await member(db), unique_ip)
    assert result.status == 400 and result.json()["details"][0]["field"].startswith("scopes")
    assert acs_double.requests == []


async def test_requires_a_user(acs_services, acs_double):
    result = await post_token({"scopes": ["voip"]})
    assert result.status == 401 and acs_double.requests == []


async def test_not_configured_is_503(db, services, unique_ip):
    services.__dict__.pop("acs_identity", None)
    result = await post_token({}, await member(db), unique_ip)
    assert result.status == 503 and "ACS_CONNECTION_STRING" in result.json()["error"]


async def test_upstream_failure_is_502_json(db, acs_services, acs_double, unique_ip):
    acs_double.fail_next(500)
    result = await post_token({}, await member(db), unique_ip)
    assert result.status == 502 and result.json()["error"]


async def test_rate_limited_at_60_a_minute(db, acs_services):
    """Fixed one-minute windows: a run that straddles a window boundary is repeated."""
    import time

    for _ in range(3):
        user, ip = await member(db), f"2001:db8:{uuid.uuid4().hex[:4]}::1"
        window = int(time.time() // 60)
        statuses = [(await post_token({}, user, ip)).status for _ in range(61)]
        if int(time.time() // 60) == window:
            break
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


async def _post_as(user, ip):
    return await call_function("acs_token", "POST", {}, auth_headers(user), client_ip=ip, path="/api/acs/token")


async def test_tokens_need_a_reason_membership_open_interview_or_practice(db, acs_services, acs_double, unique_ip):
    """ACS and Speech are paid per use: an account with no organisation, no open
    interview and no practice session in progress gets 403 and no identity (issue 21)."""
    from tests.ai.seed import create_application, create_interview, create_role
    from tests.support import create_user

    stranger = await create_user(db)
    refused = await _post_as(stranger, unique_ip)
    assert refused.status == 403 and "organisation's members" in refused.json()["error"]
    assert acs_double.identities_created == 0

    candidate = await create_user(db)
    role = await create_role(db, await create_org(db))
    application, _ = await create_application(db, role, candidate)
    interview = await create_interview(db, application, status="completed")
    assert (await _post_as(candidate, unique_ip)).status == 403  # an ended interview is no reason
    await db.execute("update interviews set status = 'in_progress' where id = %s", (interview,))
    assert (await _post_as(candidate, unique_ip)).status == 200

    practising = await create_user(db)
    await db.execute(
        "insert into practice_interviews (user_id, sample_role_type, created_at) values (%s, 'engineer', %s)",
        (practising, datetime.now(UTC) - timedelta(hours=3)),
    )
    assert (await _post_as(practising, unique_ip)).status == 403  # a practice session left hours ago
    await db.execute(
        "insert into practice_interviews (user_id, sample_role_type) values (%s, 'engineer')", (practising,)
    )
    assert (await _post_as(practising, unique_ip)).status == 200
