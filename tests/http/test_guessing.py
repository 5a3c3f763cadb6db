"""Who may try credentials, and how often (issue 21): wrong service keys, forged
tokens and wrong webhook secrets count against the client's address and are
answered 429 past a small budget; an IPv6 client is one /64; Supabase anonymous
sign-ins are refused unless a setting allows them."""

from __future__ import annotations

import uuid

import pytest

from shared.platform.buckets import DEFAULT_LIMITS, Bucket
from shared.platform.rate_limit import address_key
from tests.calls.conftest import grid_event
from tests.durable_runtime import durable_runtime
from tests.support import auth_headers, call_function, create_user, user_token


@pytest.fixture(scope="module", autouse=True)
async def durable():
    """data-cleanup (the route that takes the service key) binds a Durable client."""
    async with durable_runtime() as runtime:
        yield runtime


@pytest.fixture
def failure_budget(services, monkeypatch):
    """The default budget (the test session raises it: many tests fail credentials on purpose)."""
    monkeypatch.setitem(services.rate_limiter.limits, Bucket.AUTH_FAILURES, DEFAULT_LIMITS[Bucket.AUTH_FAILURES])
    monkeypatch.setattr(services.rate_limiter, "_locked_out", {})
    return DEFAULT_LIMITS[Bucket.AUTH_FAILURES][0]


def new_address() -> str:
    return f"198.51.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}"


async def cleanup(ip: str, headers: dict[str, str]):
    return await call_function("data_cleanup", "POST", {}, headers, client_ip=ip, path="/api/admin/data-cleanup")


async def test_300_wrong_service_keys_in_a_row_are_429_long_before_the_end(services, failure_budget):
    ip = new_address()
    statuses = [(await cleanup(ip, {"x-service-key": f"guess-{n}"})).status for n in range(300)]
    assert statuses[:failure_budget] == [401] * failure_budget
    assert set(statuses[failure_budget:]) == {429}
    # Locked out: even the right key is not checked from that address until the window ends.
    right = await cleanup(ip, {"x-service-key": services.settings.SERVICE_API_KEY})
    assert right.status == 429 and int(right.headers["retry-after"]) > 0
    assert "too many failed" in right.json()["error"]
    # Another address is unaffected.
    assert (await cleanup(new_address(), {"x-service-key": services.settings.SERVICE_API_KEY})).status != 429


async def test_a_webhook_secret_in_the_query_is_locked_out_like_one_in_a_header(services, failure_budget, monkeypatch):
    """During the migration window (`?secret=` accepted) a locked-out address gets 429 for
    the right secret too, as for every credential header."""
    monkeypatch.setattr(services.settings, "ACS_WEBHOOK_SECRET", "webhook-secret-current-0123456789")
    monkeypatch.setattr(services.settings, "ACS_WEBHOOK_SECRET_IN_QUERY", True)
    ip = new_address()
    events = [grid_event("CallStarted", {"serverCallId": "guessing"})]

    async def webhook(secret: str):
        return await call_function(
            "acs_webhook", "POST", events, {}, client_ip=ip, path="/api/acs/webhook", query=f"secret={secret}"
        )

    statuses = [(await webhook(f"guess-{n}")).status for n in range(failure_budget + 1)]
    assert statuses == [401] * failure_budget + [429]
    right = await webhook("webhook-secret-current-0123456789")
    assert right.status == 429 and "too many failed" in right.json()["error"]


async def test_forged_tokens_count_but_expired_ones_do_not(db, services, failure_budget):
    user = await create_user(db)
    ip = new_address()
    expired = {"authorization": f"Bearer {user_token(user, exp=1)}"}
    for _ in range(failure_budget + 5):  # a stale session in a tab is not a guess
        result = await call_function("organisations", "POST", {"name": "X"}, expired, client_ip=ip)
        assert result.status == 401
    forged = {"authorization": f"Bearer {user_token(user, secret='not-the-project-secret-' + 'x' * 20)}"}
    statuses = [
        (await call_function("organisations", "POST", {"name": "X"}, forged, client_ip=ip)).status
        for _ in range(failure_budget + 1)
    ]
    assert statuses[-1] == 429 and statuses[:failure_budget] == [401] * failure_budget


async def test_a_failed_guess_from_one_ipv6_address_counts_for_its_whole_64(services, failure_budget):
    prefix = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    statuses = [
        (await cleanup(f"{prefix}:{n:x}::{n + 1:x}", {"x-service-key": "guess"})).status
        for n in range(failure_budget + 1)
    ]
    assert statuses[-1] == 429  # every request from a new address of the same /64


def test_address_keys():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff:1:2:3") == "ip:2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.7") == address_key("::ffff:203.0.113.7") == "ip:203.0.113.7"
    assert address_key("unknown") == "ip:unknown"


@pytest.mark.parametrize(
    "name, path, body",
    [
        ("speech_token", "/api/azure/speech-token", None),
        ("acs_token", "/api/acs/token", {}),
        ("ai_interviewer", "/api/ai/interviewer", {"messages": [], "isPractice": True}),
        ("extract_requirements", "/api/ai/extract-requirements", {"jobDescription": "A role " * 20}),
        ("organisations", "/api/organisations", {"name": "Anon Ltd"}),
    ],
)
async def test_anonymous_sign_ins_are_refused(db, name, path, body):
    user = await create_user(db)
    ip = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    result = await call_function(name, "POST", body, auth_headers(user, is_anonymous=True), client_ip=ip, path=path)
    assert result.status == 403 and "Anonymous sign-ins" in result.json()["error"]


async def test_a_setting_lets_anonymous_sign_ins_in(db, services, monkeypatch):
    monkeypatch.setattr(services.settings, "ALLOW_ANONYMOUS_SIGN_INS", True)
    user = await create_user(db)
    ip = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    headers = auth_headers(user, is_anonymous=True)
    result = await call_function("organisations", "POST", {"name": "Anon Ltd"}, headers, client_ip=ip)
    assert result.status == 200
