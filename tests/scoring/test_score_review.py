"""POST /api/ai/score/{interviewId}/review (issue 23): a person confirms or overrides
the AI's score; the review is kept, audited with the reviewer, shown by the status
route, and survives every later AI run. Called as the worker calls it, with the
local Durable runtime, the model double and the real database (009's trigger runs)."""

import re
import uuid
from pathlib import Path

import pytest

from shared.platform.config import DEV_SERVICE_KEY
from shared.scoring import queries as score_queries
from shared.scoring.rules import CONFIRMED_MESSAGE
from tests.ai.seed import create_org
from tests.scoring.conftest import score_rows, scoring_answer, seed_interview
from tests.scoring.test_score_function import poll, score
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("scoring_services", "durable")


async def review(interview_id, body, user=None, headers=None):
    headers = {**(auth_headers(user) if user else {}), **(headers or {})}
    return await call_function(
        "review_interview_score",
        "POST",
        body,
        headers,
        path=f"/api/ai/score/{interview_id}/review",
        path_params={"interviewId": str(interview_id)},
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::2",
    )


async def scored(db):
    interview = await seed_interview(db)
    assert (await score({"interviewId": str(interview.id)}, interview.recruiter)).status == 200  # 75
    return interview


async def audit_rows(db, interview_id):
    return await db.fetch_all(
        "select action, user_id, new_values from audit_log where entity_id = %s order by created_at, id",
        (interview_id,),
    )


async def reviews_of(db, interview_id):
    return await db.fetch_all(
        """select decision, reviewer_id, previous_score, new_score, reason from app.score_reviews
            where interview_id = %s order by created_at, id""",
        (interview_id,),
    )


async def test_an_override_is_stored_audited_with_the_reviewer_and_survives_a_rescore(db, model):
    interview = await scored(db)
    result = await review(
        interview.id,
        {"decision": "override", "overallScore": 40, "reason": "Missed the system design"},
        interview.recruiter,
    )
    assert result.status == 200, result.json()
    body = result.json()
    assert body["overall_score"] == 40 and body["humanOverride"] is True and body["humanReviewed"] is True
    assert body["review"]["decision"] == "override" and body["review"]["reviewedBy"] == str(interview.recruiter)
    [row], _ = await score_rows(db, interview.id)
    assert row["scored_by"] == str(interview.recruiter) and row["human_override_by"] == interview.recruiter
    assert row["human_override_reason"] == "Missed the system design"
    assert [
        (r["decision"], r["reviewer_id"], r["previous_score"], r["new_score"])
        for r in await reviews_of(db, interview.id)
    ] == [("override", interview.recruiter, 75, 40)]
    # One audit entry for the event (009's trigger), naming the reviewer; no duplicate from the backend.
    assert [(a["action"], a["user_id"]) for a in await audit_rows(db, interview.id)] == [
        ("interview_score.human_override", interview.recruiter)
    ]

    model.default_responder = lambda request: scoring_answer(request, score=9.0)
    rescored = await score({"interviewId": str(interview.id), "rescore": True}, interview.recruiter)
    assert rescored.status == 200 and rescored.json()["overall_score"] == 40
    assert len(model.chat_requests) == 1  # the model was not asked again
    assert (await score_rows(db, interview.id))[0][0]["overall_score"] == 40


async def test_a_confirmation_is_audited_keeps_the_ai_score_and_survives_a_rescore(db, model):
    interview = await scored(db)
    result = await review(interview.id, {"decision": "confirm", "reason": "Matches my notes"}, interview.recruiter)
    assert result.status == 200, result.json()
    body = result.json()
    assert body["overall_score"] == 75 and body["humanOverride"] is False
    assert body["humanReviewed"] is True and body["review"]["decision"] == "confirm"
    assert body["message"] == CONFIRMED_MESSAGE
    [row], _ = await score_rows(db, interview.id)
    assert row["scored_by"] == "ai" and not row["human_override"]  # the number is still the model's
    [entry] = await audit_rows(db, interview.id)
    assert entry["action"] == "interview_score.review_confirmed" and entry["user_id"] == interview.recruiter
    assert "Matches my notes" not in str(entry["new_values"])  # the reason's text stays out of the audit log

    model.default_responder = lambda request: scoring_answer(request, score=9.0)
    rescored = await score({"interviewId": str(interview.id), "rescore": True}, interview.recruiter)
    assert rescored.status == 200 and rescored.json()["overall_score"] == 75
    assert len(model.chat_requests) == 1
    # The upsert itself refuses too (a run that was already past the check when the person confirmed).
    async with db.transaction() as conn:
        written = await score_queries.upsert_ai_score(
            conn,
            interview.id,
            {
                "overall_score": 99,
                "narrative_summary": "x",
                "candidate_feedback": "x",
                "anti_cheat_risk_level": "low",
                "model_version": "m",
                "prompt_version": "p",
                "rubric_version": "r",
            },
        )
    assert written is False and (await score_rows(db, interview.id))[0][0]["overall_score"] == 75


async def test_an_override_after_a_confirmation_is_the_latest_review_and_history_is_kept(db, model):
    interview = await scored(db)
    assert (await review(interview.id, {"decision": "confirm"}, interview.recruiter)).status == 200
    again = await review(
        interview.id, {"decision": "override", "overallScore": 60, "reason": "Second look"}, interview.recruiter
    )
    assert again.status == 200 and again.json()["review"]["decision"] == "override"
    assert [r["decision"] for r in await reviews_of(db, interview.id)] == ["confirm", "override"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"decision": "override", "overallScore": 40}, "reason"),
        ({"decision": "override", "overallScore": 40, "reason": "   "}, "reason"),
        ({"decision": "override", "reason": "Too high"}, "overallScore"),
        ({"decision": "confirm", "overallScore": 75}, "overallScore"),
        ({"decision": "approve"}, None),
        ({"decision": "override", "overallScore": 101, "reason": "x"}, None),
    ],
)
async def test_a_review_without_what_it_needs_is_400_and_writes_nothing(db, model, body, message):
    interview = await scored(db)
    result = await review(interview.id, body, interview.recruiter)
    assert result.status == 400, result.json()
    if message:
        assert message in result.json()["error"]
    assert await reviews_of(db, interview.id) == [] and await audit_rows(db, interview.id) == []
    assert (await score_rows(db, interview.id))[0][0]["overall_score"] == 75


async def test_who_may_review(db, model):
    interview = await scored(db)
    body = {"decision": "override", "overallScore": 10, "reason": "x"}
    assert (await review(interview.id, body)).status == 401
    service = await review(interview.id, body, headers={"x-service-key": DEV_SERVICE_KEY})
    assert service.status == 401  # the service key is not a person: not accepted here
    candidate = (
        await db.fetch_one(
            "select a.candidate_id from applications a join interviews i on i.application_id = a.id where i.id = %s",
            (interview.id,),
        )
    )["candidate_id"]
    assert (await review(interview.id, body, candidate)).status == 403
    for role in ("viewer", "hiring_manager", "member"):
        member = await create_user(db)
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, %s)",
            (interview.organisation_id, member, role),
        )
        assert (await review(interview.id, body, member)).status == 403, role
    other = await create_user(db)
    await create_org(db, member=other, role="recruiter", name="Other Co")
    assert (await review(interview.id, body, other)).status == 403
    assert (await review(uuid.uuid4(), body, interview.recruiter)).status == 404
    assert (await review("not-a-uuid", body, interview.recruiter)).status == 404
    assert await reviews_of(db, interview.id) == []
    admin = await create_user(db)
    await db.execute(
        "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'org_admin')",
        (interview.organisation_id, admin),
    )
    assert (await review(interview.id, body, admin)).status == 200


async def test_an_unscored_interview_is_409(db, model):
    interview = await seed_interview(db)
    result = await review(interview.id, {"decision": "confirm"}, interview.recruiter)
    assert result.status == 409 and "no score" in result.json()["error"]


async def test_the_status_route_shows_the_review(db, model):
    interview = await scored(db)
    before = (await poll(interview.id, interview.recruiter)).json()
    assert before["humanReviewed"] is False and before["review"] is None
    await review(interview.id, {"decision": "confirm"}, interview.recruiter)
    after = await poll(interview.id, interview.recruiter)
    assert after.status == 200
    assert after.json()["humanReviewed"] is True
    assert after.json()["review"]["reviewedBy"] == str(interview.recruiter) and after.json()["review"]["reviewedAt"]
    assert after.json()["overall_score"] == 75


# --- the AI never rejects anyone ------------------------------------------------------------


async def test_no_model_output_moves_an_application_to_rejected(db, model):
    """The lowest score the model can give leaves the application 'interviewed'."""
    interview = await seed_interview(db)
    model.default_responder = lambda request: scoring_answer(request, score=0.0)
    result = await score({"interviewId": str(interview.id)}, interview.recruiter)
    assert result.status == 200 and result.json()["overall_score"] == 0
    status = await db.fetch_one("select status from applications where id = %s", (interview.application_id,))
    assert status["status"] == "interviewed"


def test_no_backend_code_writes_rejected_to_an_application():
    """Every statement in shared/ that changes applications' status, read from the source:
    none sets 'rejected' (a rejection is a person's act, in the frontend)."""
    root = Path(__file__).resolve().parents[2] / "shared"
    updates = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"update\s+(?:public\.)?applications\s+set\s+(.{0,300})", text, re.I | re.S):
            updates.append((path.name, match.group(1)))
    assert updates, "the scan finds the status updates (scoring's and invitations')"
    assert {name for name, _ in updates} >= {"queries.py"}
    for name, statement in updates:
        assert "rejected" not in statement.lower(), name


async def test_a_second_reviewer_overriding_to_the_same_score_is_audited_once_naming_them(db, model):
    """Not an override event for 009's trigger (the score does not change): the backend
    audits it, and scored_by and human_override_by name the new reviewer."""
    interview = await scored(db)
    body = {"decision": "override", "overallScore": 50, "reason": "Too generous"}
    assert (await review(interview.id, body, interview.recruiter)).status == 200
    second = await create_user(db)
    await db.execute(
        "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'admin')",
        (interview.organisation_id, second),
    )
    again = await review(interview.id, {**body, "reason": "Agreed, 50"}, second)
    assert again.status == 200 and again.json()["review"]["reviewedBy"] == str(second)
    [row], _ = await score_rows(db, interview.id)
    assert row["scored_by"] == str(second) and row["human_override_by"] == second
    entries = [(a["action"], a["user_id"]) for a in await audit_rows(db, interview.id)]
    assert entries == [
        ("interview_score.human_override", interview.recruiter),
        ("interview_score.human_override", second),
    ]
    organisations = await db.fetch_all("select organisation_id from audit_log where entity_id = %s", (interview.id,))
    assert {o["organisation_id"] for o in organisations} == {interview.organisation_id}
