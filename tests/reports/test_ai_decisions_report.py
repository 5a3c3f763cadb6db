"""GET /api/reports/ai-decisions: an organisation's AI decision log for its admins or
the service key; 403 for its other members, 404 for anyone else and for an
interview of another organisation; newest first, paged with `before`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.platform.config import DEV_SERVICE_KEY
from shared.platform.decision_log import Concerning, DecisionRecorder, ModelCall
from tests.ai.seed import create_application, create_interview, create_org, create_role
from tests.support import auth_headers, call_function, create_user

SERVICE = {"x-service-key": DEV_SERVICE_KEY}


async def report(query: str, headers: dict):
    return await call_function(
        "ai_decisions_report",
        "GET",
        None,
        headers,
        query=query,
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::7",
        path="/api/reports/ai-decisions",
    )


def a_call(purpose: str, n: int) -> ModelCall:
    return ModelCall(
        started_at=datetime.now(UTC),
        purpose=purpose,
        prompt_version=f"v{n}",
        model="gpt-test",
        input_sha256=f"{n:064x}",
        outcome="ok",
        input_tokens=n,
        output_tokens=n,
        latency_ms=n,
    )


async def organisation_with_log(db):
    """An org with an admin, an org_admin and a recruiter; an interview; five calls logged
    (v1..v5, the last two about the interview); and another org with one of its own."""
    admin, org_admin, recruiter = await create_user(db), await create_user(db), await create_user(db)
    org = await create_org(db, admin, role="admin", name="Report Co")
    for user, role in ((org_admin, "org_admin"), (recruiter, "recruiter")):
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, %s)", (org, user, role)
        )
    application, candidate = await create_application(db, await create_role(db, org))
    interview = await create_interview(db, application)
    for n in range(1, 6):
        about = Concerning([candidate], organisation_id=org, interview_id=interview if n > 3 else None)
        recorder = DecisionRecorder(about)
        recorder(a_call("interviewer", n))
        await recorder.flush(db)
    other_org = await create_org(db, name="Other Co")
    other_application, other_candidate = await create_application(db, await create_role(db, other_org))
    other_interview = await create_interview(db, other_application)
    recorder = DecisionRecorder(Concerning([other_candidate], organisation_id=other_org, interview_id=other_interview))
    recorder(a_call("score", 9))
    await recorder.flush(db)
    return {
        "org": org,
        "admin": admin,
        "org_admin": org_admin,
        "recruiter": recruiter,
        "candidate": candidate,
        "interview": interview,
        "other_org": other_org,
        "other_interview": other_interview,
    }


async def test_admins_and_the_service_key_read_the_log_newest_first(db, services):
    seeded = await organisation_with_log(db)
    for headers in (auth_headers(seeded["admin"]), auth_headers(seeded["org_admin"]), SERVICE):
        result = await report(f"organisationId={seeded['org']}", headers)
        assert result.status == 200, result
        body = result.json()
        assert body["organisationId"] == str(seeded["org"]) and body["interviewId"] is None
        assert [d["promptVersion"] for d in body["decisions"]] == ["v5", "v4", "v3", "v2", "v1"]
        assert body["nextBefore"] is None
    first = body["decisions"][0]
    assert set(first) == {
        "id", "callId", "occurredAt", "purpose", "organisationId", "candidateId", "interviewId", "model",
        "promptVersion", "rubricVersion", "inputSha256", "outcome", "inputTokens", "outputTokens", "latencyMs",
    }  # fmt: skip
    assert first["candidateId"] == str(seeded["candidate"]) and first["interviewId"] == str(seeded["interview"])
    assert first["inputSha256"] == f"{5:064x}" and (first["inputTokens"], first["latencyMs"]) == (5, 5)


async def test_pages_follow_next_before_and_an_interview_filters(db, services):
    seeded = await organisation_with_log(db)
    headers = auth_headers(seeded["admin"])
    seen, before = [], None
    for _ in range(4):
        query = f"organisationId={seeded['org']}&limit=2" + (f"&before={before}" if before else "")
        body = (await report(query, headers)).json()
        seen.append([d["promptVersion"] for d in body["decisions"]])
        before = body["nextBefore"]
        if before is None:
            break
    assert seen == [["v5", "v4"], ["v3", "v2"], ["v1"]]
    body = (await report(f"organisationId={seeded['org']}&interviewId={seeded['interview']}", headers)).json()
    assert [d["promptVersion"] for d in body["decisions"]] == ["v5", "v4"]
    assert body["interviewId"] == str(seeded["interview"])


async def test_who_may_not_read_it(db, services):
    seeded = await organisation_with_log(db)
    org = seeded["org"]
    assert (await report(f"organisationId={org}", auth_headers(seeded["recruiter"]))).status == 403
    assert (await report(f"organisationId={org}", auth_headers(seeded["candidate"]))).status == 404
    assert (await report(f"organisationId={org}", auth_headers(await create_user(db)))).status == 404
    assert (await report(f"organisationId={uuid.uuid4()}", SERVICE)).status == 404
    assert (await report(f"organisationId={uuid.uuid4()}", auth_headers(seeded["admin"]))).status == 404
    # an interview of another organisation, asked for through one's own
    other = f"organisationId={org}&interviewId={seeded['other_interview']}"
    assert (await report(other, auth_headers(seeded["admin"]))).status == 404
    assert (await report(f"organisationId={org}&interviewId={uuid.uuid4()}", SERVICE)).status == 404
    # the other organisation's admin would be its member: this org's admin is not
    assert (await report(f"organisationId={seeded['other_org']}", auth_headers(seeded["admin"]))).status == 404
    assert (await report(f"organisationId={org}", {})).status == 401


@pytest.mark.parametrize(
    "query",
    [
        "",
        "organisationId=not-a-uuid",
        "organisationId={org}&limit=0",
        "organisationId={org}&limit=201",
        "organisationId={org}&limit=many",
        "organisationId={org}&before=0",
        "organisationId={org}&before=yesterday",
        "organisationId={org}&before=9223372036854775808",  # past bigint: found by schemathesis as a 500
        "organisationId={org}&interviewId=42",
    ],
)
async def test_bad_parameters_are_400(db, services, query):
    admin = await create_user(db)
    org = await create_org(db, admin, role="admin")
    result = await report(query.format(org=org), auth_headers(admin))
    assert result.status == 400, result
    assert result.json()["error"]


async def test_the_route_is_in_the_openapi_document_with_its_errors(services):
    from shared.platform.http import ENDPOINTS
    from shared.platform.openapi import build_openapi

    document = build_openapi(ENDPOINTS, "test")
    operation = document["paths"]["/api/reports/ai-decisions"]["get"]
    assert {"400", "401", "403", "404", "429"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"organisationId", "interviewId", "limit", "before"}
