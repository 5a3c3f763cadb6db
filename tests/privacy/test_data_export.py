"""GET /api/me/data-export (issue 23, GDPR Art. 15) called as the worker calls it,
against the real database: a candidate with a row in every table gets every row,
a second candidate's data never appears, invitation tokens and reviewers' identities
never do, and the registry covers every table the schema shows holding user data."""

import json
import uuid

import pytest

from shared.platform.config import DEV_SERVICE_KEY
from shared.retention.rules import EXPORT_RULES, TABLE_RULES
from tests.retention.seed import org_with_retention
from tests.retention.test_deletion_requests import candidate_with_everything, request_deletion
from tests.retention.test_erase_rules import tables_holding_candidate_data
from tests.support import auth_headers, call_function, create_user


async def export(user=None, headers=None):
    headers = {**(auth_headers(user) if user else {}), **(headers or {})}
    return await call_function(
        "data_export",
        "GET",
        headers=headers,
        path="/api/me/data-export",
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::3",
    )


@pytest.fixture
def unlimited(services, monkeypatch):
    monkeypatch.setitem(services.rate_limiter.limits, "me/data-export", (1000, 3600))


async def everything(db, blob_service):
    """Two candidates with everything (the second a bystander in the same organisation),
    plus the rows candidate_with_everything does not make: a reviewed score, a deletion
    request, a call event, an ACS identity, an org membership, an app role, an audit entry."""
    org = await org_with_retention(db, 60)
    candidate, recorded = await candidate_with_everything(db, blob_service, org)
    bystander, other = await candidate_with_everything(db, blob_service, org)
    for user, interview_id in ((candidate, recorded.interview_id), (bystander, other.interview_id)):
        await request_deletion(db, user, "recording_only")
        await db.execute(
            "insert into app.processed_events (event_id, event_type, interview_id) values (%s, 'CallEnded', %s)",
            (uuid.uuid4().hex, interview_id),
        )
        await db.execute(
            "insert into app.acs_identities (user_id, communication_user_id) values (%s, %s)",
            (user, f"8:acs:{uuid.uuid4().hex}"),
        )
        await db.execute("insert into user_roles (user_id, role) values (%s, 'candidate')", (user,))
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'member')", (org, user)
        )
        await db.execute(
            "insert into audit_log (user_id, action, entity_type, entity_id) values (%s, 'profile.updated', 'profile', %s)",
            (user, user),
        )
        await db.execute(
            """insert into app.ai_decisions (call_id, purpose, organisation_id, candidate_id, interview_id, model,
                                             prompt_version, input_sha256, outcome, latency_ms)
               values (gen_random_uuid(), 'score', %s, %s, %s, 'm', 'v1', repeat('a', 64), 'ok', 1)""",
            (org, user, interview_id),
        )
        await db.execute(
            """insert into app.ai_usage (organisation_id, user_id, purpose, model, outcome, input_tokens,
                                         output_tokens, estimated_cost)
               values (%s, %s, 'interviewer', 'm', 'ok', 10, 20, 0.0001)""",
            (org, user),
        )
    return candidate, recorded, bystander, other


def text_of(result) -> str:
    return json.dumps(result.json())


async def test_a_candidate_with_everything_gets_every_exported_tables_rows_and_nothing_of_anyone_else(
    db, blob_service, unlimited
):
    candidate, recorded, bystander, other = await everything(db, blob_service)
    result = await export(candidate)
    assert result.status == 200, result.json()
    document = result.json()
    data = document["data"]
    exported = [rule for rule in EXPORT_RULES if rule.select is not None]
    assert set(data) == {rule.section for rule in exported}
    # A row in every exported table (the rate-limit counters are the only table left out).
    assert {section for section, rows in data.items() if not rows} == set()
    assert [n["table"] for n in document["notIncluded"]] == ["app.erased_calls", "app.rate_limit_counters"]
    assert data["profile"][0]["user_id"] == str(candidate) and data["profile"][0]["phone"] == "+61 400 000 000"
    assert {s["skill_name"] for s in data["skills"]} == {"Python", "SQL"}
    assert data["selfIdentification"][0]["gender"] == "woman"  # their own: it is theirs
    assert data["transcripts"][0]["content"] == "My name is Jane and I live in Surry Hills"
    assert data["scores"][0]["overall_score"] == 82 and data["scores"][0]["scored_by_whom"] == "the AI model"
    assert data["scoreDimensions"][0]["cited_quotes"] == ["My name is Jane"]
    assert data["scoreReviews"][0]["reason"] == "Jane explained it well"
    assert data["deletionRequests"][0]["request_type"] == "recording_only"

    # Nothing about other people: not the bystander's ids or rows, not the reviewer, not the token.
    text = text_of(result)
    for foreign in (bystander, other.interview_id, other.application_id):
        assert str(foreign) not in text
    reviewer = (
        await db.fetch_one(
            "select reviewer_id from app.score_reviews where interview_id = %s", (recorded.interview_id,)
        )
    )["reviewer_id"]
    assert str(reviewer) not in text and "reviewer_id" not in text
    assert data["scoreReviews"][0]["reviewed_by"].startswith("a person at ")
    token = (await db.fetch_one("select token from invitations where application_id = %s", (recorded.application_id,)))[
        "token"
    ]
    assert token not in text and all("token" not in row for row in data["invitations"])
    assert data["invitations"][0]["email_template"] == "Dear Jane Citizen, ..."
    # The call's participants (display names of whoever joined) are left out; the rest of the metadata is there.
    assert "participants" not in text and data["interviews"][0]["call_metadata"]["correlationId"] == "corr-1"

    # The plain-language account of the scoring.
    [account] = document["howYourInterviewWasScored"]
    assert account["interviewId"] == str(recorded.interview_id) and account["overallScore"] == 82
    assert account["dimensions"] == [{"dimension": "communication", "weight": 0.3, "score": 8.5}]
    assert account["reviewedByAPerson"] is True and account["review"]["decision"] == "confirm"
    assert "Communication (30%)" in account["explanation"] and "confirmed" in account["explanation"]
    assert document["generatedAt"] and document["userId"] == str(candidate)


async def test_the_bystanders_export_holds_only_their_own_rows(db, blob_service, unlimited):
    candidate, recorded, bystander, other = await everything(db, blob_service)
    result = await export(bystander)
    assert result.status == 200
    text = text_of(result)
    assert str(candidate) not in text and str(recorded.interview_id) not in text
    assert result.json()["data"]["interviews"][0]["id"] == str(other.interview_id)


async def test_a_user_with_nothing_gets_empty_sections(db, unlimited):
    user = await create_user(db, email="nothing.else@example.test")
    result = await export(user)
    assert result.status == 200
    data = result.json()["data"]
    # Only the sign-in account, as Supabase Auth keeps it (named columns, never its secrets).
    [account] = data.pop("account")
    assert (account["id"], account["email"]) == (str(user), "nothing.else@example.test")
    assert set(account) == {"id", "email", "email_confirmed_at", "created_at", "raw_user_meta_data"}
    assert all(rows == [] for rows in data.values())
    assert result.json()["howYourInterviewWasScored"] == []


async def test_without_a_person_it_is_refused(db, unlimited):
    assert (await export()).status == 401
    # The service key is not a person: the route accepts only a user's token.
    assert (await export(headers={"x-service-key": DEV_SERVICE_KEY})).status == 401


async def test_exports_are_rate_limited(db, services, monkeypatch):
    monkeypatch.setitem(services.rate_limiter.limits, "me/data-export", (1, 3600))
    user = await create_user(db)
    assert (await export(user)).status == 200
    assert (await export(user)).status == 429


# --- the registry against the schema ------------------------------------------------------


async def test_every_table_holding_user_data_is_in_the_export_registry(db):
    """Derived from the live schema (the erase rules' query): a table holding user data
    without an export rule fails here, as it fails the erase rules' test."""
    async with db.connection() as conn:
        found = await tables_holding_candidate_data(conn)
    exported = {rule.table for rule in EXPORT_RULES}
    assert found - exported == set(), "tables holding user data without an ExportRule in shared/retention/rules.py"
    # The same list as the erase rules: one registry, two uses.
    assert exported == {rule.table for rule in TABLE_RULES}
    assert len(exported) == len(EXPORT_RULES), "one export rule per table"
    assert len({rule.section for rule in EXPORT_RULES}) == len(EXPORT_RULES)
    for rule in EXPORT_RULES:
        assert rule.select or rule.kept_because, rule.table
        assert rule.select is None or (rule.table in rule.select and "%(user)s" in rule.select), rule.table


async def test_every_export_rule_runs_and_omits_what_it_says(db):
    """Each rule's SQL runs against the live schema and names only columns that exist."""
    from shared.privacy import queries

    user = await create_user(db)
    async with db.connection() as conn:
        for rule in EXPORT_RULES:
            if rule.select is not None:
                rows = await queries.export_rows(conn, rule.select, rule.omit, user)
                assert len(rows) == (1 if rule.table == "auth.users" else 0), rule.table  # a new user: the account
                columns = await conn.execute(f"select * from ({rule.select}) x limit 0", {"user": user})
                names = {c.name for c in columns.description}
                assert set(rule.omit) <= names, f"{rule.table} omits a column it does not select"


def test_the_openapi_document_lists_both_new_routes_with_their_error_statuses():
    import function_app  # noqa: F401  (declares the endpoints)
    from shared.platform.http import ENDPOINTS
    from shared.platform.openapi import build_openapi

    paths = build_openapi(ENDPOINTS, "test")["paths"]
    exported = paths["/api/me/data-export"]["get"]
    assert {"200", "401", "429"} <= set(exported["responses"]) and exported["tags"] == ["privacy"]
    assert "DataExport" in json.dumps(exported["responses"]["200"])
    review = paths["/api/ai/score/{interviewId}/review"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "422", "429"} <= set(review["responses"])
    assert review["tags"] == ["scoring"]
