"""GET /api/reports/bias-audit: who may read it, its three formats, its parameters,
and that self-identification reaches no log line and no other answer."""

from __future__ import annotations

import csv
import io
import logging
import uuid

import pytest

from shared.platform.config import DEV_SERVICE_KEY
from shared.reports.models import BiasAuditReport
from tests.ai.seed import add_score, create_application, create_org, create_role
from tests.reports.seed import SECRETS, add_dei, worked_example
from tests.support import auth_headers, call_function, clear_of_window_edge, create_user

SERVICE = {"x-service-key": DEV_SERVICE_KEY}
PATH = "/api/reports/bias-audit"


@pytest.fixture
def unlimited(services, monkeypatch):
    """Rate limits off: these tests call the route more often than a minute allows
    (the limit has its own test)."""
    monkeypatch.setattr(services.rate_limiter, "enabled", False)
    return services


async def report(headers, ip, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return await call_function("bias_audit_report", "GET", headers=headers, query=query, client_ip=ip, path=PATH)


def rows_of(body):
    return {
        (dimension, r["category"]): r
        for dimension in ("sex", "raceEthnicity", "intersectional")
        for r in body[dimension]
    }


async def test_an_admin_reads_the_worked_example_in_three_formats_that_agree(db, unlimited, unique_ip):
    org = await worked_example(db)
    result = await report(auth_headers(org.admin), unique_ip, organisationId=org.id)
    assert result.status == 200, result
    body = result.json()
    assert body["organisationId"] == str(org.id) and body["roleId"] is None
    assert (body["stage"], body["method"], body["from"], body["to"]) == ("score", "scoring_rate", None, None)
    assert (body["assessed"], body["median"], body["unknown"]) == (10, 5.5, {"sex": 2, "raceEthnicity": 2})
    rows = rows_of(body)
    assert rows[("sex", "Male")]["rate"] == 0.75 and rows[("sex", "Female")]["rate"] == 0.25
    assert rows[("sex", "Female")]["impactRatio"] == 0.3333
    assert rows[("raceEthnicity", "White")]["count"] == 4 and rows[("raceEthnicity", "Asian")]["count"] == 4
    assert rows[("intersectional", "Female / Asian")]["impactRatio"] == 0.3333
    assert body["generatedAt"].endswith("Z")
    # the documented schema (OpenAPI) describes the answer, `from` included
    assert BiasAuditReport.model_validate(body).model_dump(by_alias=True, exclude={"generatedAt"}) == {
        k: v for k, v in body.items() if k != "generatedAt"
    }
    assert "from" in BiasAuditReport.model_json_schema()["properties"]

    as_csv = await report(auth_headers(org.admin), unique_ip, organisationId=org.id, format="csv")
    assert as_csv.status == 200 and as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.raw.decode())))
    assert len(lines) == len(rows) == 2 + 7 + 14
    for line in lines:
        row = rows[(line["dimension"], line["category"])]
        assert int(line["count"]) == row["count"]
        assert (float(line["rate"]) if line["rate"] else None) == row["rate"]
        assert (float(line["impactRatio"]) if line["impactRatio"] else None) == row["impactRatio"]
        assert line["excludedFromRatio"] == str(row["excludedFromRatio"]).lower()

    page = await report(auth_headers(org.admin), unique_ip, organisationId=org.id, format="html")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "connect-src" not in policy
    html = page.raw.decode()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "data-impact-ratio='0.3333'" in html and "id='four-fifths'" in html

    for raw in (result.raw, as_csv.raw, page.raw):
        text = raw.decode()
        assert not any(secret in text for secret in SECRETS)
        assert not any(str(person) in text for person in org.candidates)  # aggregates only: no person's id


async def test_org_admin_and_the_service_key_may_read_it(db, unlimited, unique_ip):
    org = await worked_example(db)
    assert (await report(auth_headers(org.org_admin), unique_ip, organisationId=org.id)).status == 200
    by_service = await report(SERVICE, unique_ip, organisationId=org.id, roleId=org.role)
    assert by_service.status == 200 and by_service.json()["assessed"] == 10
    assert by_service.json()["roleId"] == str(org.role)


async def test_who_is_refused(db, unlimited, unique_ip):
    org = await worked_example(db)
    other_admin = await create_user(db)
    await create_org(db, other_admin, role="admin", name="Other Co")
    stranger = await create_user(db)
    for headers, status in [
        (auth_headers(org.recruiter), 403),  # a member, not an admin
        (auth_headers(org.candidates[0]), 403),  # a candidate who applied there
        (auth_headers(other_admin), 404),  # another organisation's admin cannot see this one
        (auth_headers(stranger), 404),
        ({}, 401),
    ]:
        result = await report(headers, unique_ip, organisationId=org.id)
        assert result.status == status, (headers, result)
        assert "error" in result.json() and "assessed" not in result.json()
    for headers in (SERVICE, auth_headers(org.admin)):
        unknown = await report(headers, unique_ip, organisationId=uuid.uuid4())
        assert unknown.status == 404 and unknown.json() == {
            "error": "Organisation not found",
            "requestId": unknown.headers["x-request-id"],
        }


async def test_a_role_of_another_organisation_is_not_found(db, unlimited, unique_ip):
    org = await worked_example(db)
    other_role = await create_role(db, await create_org(db, name="Elsewhere"))
    result = await report(auth_headers(org.admin), unique_ip, organisationId=org.id, roleId=other_role)
    assert result.status == 404 and result.json() == {
        "error": "Role not found",
        "requestId": result.headers["x-request-id"],
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "organisationId"),
        ({"organisationId": "not-a-uuid"}, "organisationId"),
        ({"roleId": "nope"}, "roleId"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "01/02/2026"}, "to"),
        ({"from": "2026-1-1"}, "from"),
        ({"stage": "rejected"}, "stage"),
        ({"format": "pdf"}, "format"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "from"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_field(db, unlimited, unique_ip, params, field):
    org = await worked_example(db) if params else None
    query = {"organisationId": org.id, **params} if org and "organisationId" not in params else params
    result = await report(auth_headers(org.admin if org else uuid.uuid4()), unique_ip, **query)
    assert result.status == 400, result
    assert [d["field"] for d in result.json()["details"]] == [field]


async def test_the_period_and_the_latest_score_per_candidate_and_role(db, unlimited, unique_ip):
    org = await worked_example(db)
    # all ten scored in 2025; then the woman who scored 1 is scored 100 in 2026, in a new interview
    await db.execute(
        """update interview_scores set created_at = '2025-06-01T12:00:00Z'
            where interview_id in (select i.id from interviews i where i.application_id = any(%s))""",
        (org.applications,),
    )
    later = await add_score(db, org.applications[4], 100)
    await db.execute(
        "update interview_scores set created_at = '2026-01-01T00:00:00Z' where interview_id = %s", (later,)
    )
    in_2025 = (
        await report(
            auth_headers(org.admin), unique_ip, organisationId=org.id, **{"from": "2025-01-01", "to": "2025-12-31"}
        )
    ).json()
    assert in_2025["assessed"] == 10 and in_2025["from"] == "2025-01-01" and in_2025["to"] == "2025-12-31"
    assert rows_of(in_2025)[("sex", "Male")]["rate"] == 0.75
    in_2026 = (await report(auth_headers(org.admin), unique_ip, organisationId=org.id, **{"from": "2026-01-01"})).json()
    assert in_2026["assessed"] == 1 and in_2026["median"] == 100
    everything = (await report(auth_headers(org.admin), unique_ip, organisationId=org.id)).json()
    # one assessed per (candidate, role): she counts once, with her latest score (median now 6.5)
    assert everything["assessed"] == 10 and everything["median"] == 6.5
    assert rows_of(everything)[("sex", "Female")]["rate"] == 0.5
    empty = (await report(auth_headers(org.admin), unique_ip, organisationId=org.id, to="2024-12-31")).json()
    assert empty["assessed"] == 0 and empty["median"] is None


async def test_selection_rate_by_application_status(db, unlimited, unique_ip):
    admin = await create_user(db)
    org = await create_org(db, admin, role="admin")
    role = await create_role(db, org)
    for who, status in [
        ("man", "shortlisted"),
        ("man", "hired"),
        ("man", "rejected"),
        ("woman", "interviewed"),
        ("woman", "hired"),
        ("declined", "hired"),
    ]:
        _, candidate = await create_application(db, role, status=status)
        await add_dei(db, candidate, who)
    shortlisted = (await report(auth_headers(admin), unique_ip, organisationId=org, stage="shortlisted")).json()
    assert shortlisted["method"] == "selection_rate" and "median" not in shortlisted
    assert shortlisted["assessed"] == 6 and shortlisted["unknown"] == {"sex": 1, "raceEthnicity": 1}
    rows = rows_of(shortlisted)
    assert (rows[("sex", "Male")]["rate"], rows[("sex", "Female")]["rate"]) == (0.6667, 0.5)
    assert rows[("sex", "Female")]["impactRatio"] == 0.75
    hired = rows_of((await report(auth_headers(admin), unique_ip, organisationId=org, stage="hired")).json())
    assert (hired[("sex", "Male")]["rate"], hired[("sex", "Female")]["rate"]) == (0.3333, 0.5)
    invited = rows_of((await report(auth_headers(admin), unique_ip, organisationId=org, stage="invited")).json())
    assert invited[("sex", "Female")]["rate"] == 1.0


async def test_no_log_record_carries_self_identification(db, unlimited, unique_ip, caplog):
    org = await worked_example(db)
    caplog.set_level(logging.DEBUG)
    talenti = logging.getLogger("talenti")
    talenti.addHandler(caplog.handler)  # whether or not the app's logger propagates
    try:
        for fmt in ("json", "csv", "html"):
            assert (await report(auth_headers(org.admin), unique_ip, organisationId=org.id, format=fmt)).status == 200
        refused = await report(auth_headers(org.candidates[0]), unique_ip, organisationId=org.id)
        assert refused.status == 403
    finally:
        talenti.removeHandler(caplog.handler)
    lines = [record.getMessage() for record in caplog.records]
    assert any("bias_audit_report" in line for line in lines)  # the request lines were captured
    for line in lines:
        assert not any(secret in line for secret in SECRETS), line
        assert "Female" not in line and "Male" not in line


async def test_the_rate_limit(db, services, unique_ip):
    org = await worked_example(db)
    await clear_of_window_edge()
    statuses = [(await report(auth_headers(org.admin), unique_ip, organisationId=org.id)).status for _ in range(7)]
    assert statuses == [200] * 6 + [429]


def test_the_openapi_document_lists_the_route():
    from shared.platform.http import ENDPOINTS
    from shared.platform.openapi import build_openapi
    from tests.support import function_host

    function_host()  # the app's endpoints are declared
    operation = build_openapi(ENDPOINTS, "test")["paths"][PATH]["get"]
    assert {"400", "401", "403", "404", "429"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"organisationId", "roleId", "from", "to", "stage", "format"}
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv", "text/html"}
    assert operation["tags"] == ["reports"]


async def test_the_widest_period_there_is(db, unlimited, unique_ip):
    org = await worked_example(db)
    widest = await report(
        auth_headers(org.admin), unique_ip, organisationId=org.id, **{"from": "0001-01-01", "to": "9999-12-31"}
    )
    assert widest.status == 200 and widest.json()["assessed"] == 10
    digits = await report(
        auth_headers(org.admin), unique_ip, organisationId=org.id, to="٢٠٢٦-01-01"
    )  # Arabic-Indic digits
    assert digits.status == 400 and digits.json()["details"][0]["field"] == "to"
