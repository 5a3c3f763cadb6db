"""shared/platform/http.py: the former Edge Function names, bodies the contract refuses,
and which client address counts for rate limits."""

import json
import uuid

import pytest

from shared.platform.http import FORMER_ENDPOINTS, MAX_JSON_DEPTH, client_ip
from tests.support import auth_headers, call_function, create_user, function_host, make_request

FORMER_NAMES = {
    "ai-interviewer",
    "score-interview",
    "parse-resume",
    "extract-requirements",
    "generate-shortlist",
    "acs-token-generator",
    "acs-webhook-handler",
    "azure-speech-token",
    "send-invitation",
    "create-organisation",
    "data-retention-cleanup",
}


def test_every_former_edge_function_name_is_served():
    function_host()  # imports the app, whose blueprints declare the endpoints
    assert set(FORMER_ENDPOINTS) == FORMER_NAMES


@pytest.fixture(autouse=True)
def durable_binding(monkeypatch):
    """The dispatcher takes a Durable client binding (score-interview needs it); these
    endpoints never use it, so a runtime that is not served is enough."""
    from devhost.durable import DurableRuntime

    host = function_host()
    monkeypatch.setattr(host, "binding_values", DurableRuntime(host, "http://127.0.0.1:9").binding_values)


async def call_former(name, method="POST", body=None, headers=None, ip=None):
    return await call_function(
        "former_functions",
        method,
        body,
        headers,
        path=f"/functions/v1/{name}",
        path_params={"name": name},
        client_ip=ip or f"2001:db8:{uuid.uuid4().hex[:4]}::1",
    )


async def test_a_former_name_runs_the_same_endpoint_with_its_auth_and_body_checks(db, services):
    user = await create_user(db)
    created = await call_former("create-organisation", body={"name": "Via the old name"}, headers=auth_headers(user))
    assert created.status == 200 and created.json()["organisation"]["name"] == "Via the old name"
    row = await db.fetch_one("select role from org_users where user_id = %s", (user,))
    assert row["role"] == "admin"
    assert (await call_former("create-organisation", body={"name": "x"})).status == 401
    invalid = await call_former("create-organisation", body={"name": ""}, headers=auth_headers(user))
    assert invalid.status == 400 and invalid.json()["details"][0]["field"] == "name"


async def test_unknown_former_names_are_404_and_wrong_methods_405_with_allow(services):
    unknown = await call_former("no-such-function", body={})
    assert unknown.status == 404 and unknown.json() == {
        "error": "No function named 'no-such-function'",
        "requestId": unknown.headers["x-request-id"],
    }
    assert unknown.headers["x-request-id"]
    wrong = await call_former("create-organisation", method="GET")
    assert wrong.status == 405 and wrong.headers["allow"] == "POST" and "error" in wrong.json()


async def test_an_unknown_api_route_is_the_contracts_json_404(services):
    result = await call_function(
        "unknown_route", "GET", path="/api/no/such/thing", path_params={"path": "no/such/thing"}
    )
    assert result.status == 404 and result.json() == {
        "error": "No such endpoint",
        "requestId": result.headers["x-request-id"],
    }


async def test_a_body_nested_deeper_than_the_limit_is_400_not_500(db, services):
    user = await create_user(db)
    deep = "[" * 10_000 + "]" * 10_000
    result = await call_function(
        "organisations",
        "POST",
        deep,
        {**auth_headers(user), "content-type": "application/json"},
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::1",
    )
    assert result.status == 400 and "nested" in result.json()["error"]
    just_over = json.dumps(
        {"name": "x", "industry": None, "extra": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}
    )
    result = await call_function(
        "organisations",
        "POST",
        just_over,
        {**auth_headers(user), "content-type": "application/json"},
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::1",
    )
    assert result.status == 400


@pytest.mark.parametrize(
    "forwarded, hops, expected",
    [
        (None, 0, "198.51.100.7"),
        ("9.9.9.9", 0, "198.51.100.7"),  # no trusted proxy: a client's header is ignored
        ("203.0.113.5:51234", 1, "203.0.113.5"),  # the front end's own entry (with a port)
        ("9.9.9.10, 203.0.113.5", 1, "203.0.113.5"),  # a forged entry stays to the left
        ("9.9.9.10, [2001:db8::1]:443", 1, "2001:db8::1"),
        ("9.9.9.10, 203.0.113.5, 10.0.0.4", 2, "203.0.113.5"),  # Front Door, then the platform
        (None, 1, "198.51.100.7"),  # no header at all: the socket's peer
    ],
)
def test_the_client_address_is_the_one_the_platform_vouches_for(forwarded, hops, expected):
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    request = make_request("GET", "/api/health", headers=headers, client_ip="198.51.100.7")
    assert client_ip(request, hops) == expected
