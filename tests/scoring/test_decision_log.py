"""A scored interview leaves one AI decision-log row per model call (issue 23,
EU AI Act Art. 12): versions, the hash of exactly what the model received,
tokens and latency, and none of the text."""

import json
import uuid

import pytest

from shared.scoring.prompts import PROMPT_VERSION
from tests.ai.decision_log import assert_no_text, rows_about, sent_digest
from tests.ai.fixtures import SCORING_MODEL
from tests.doubles.openai_server import tool_call_reply
from tests.scoring.conftest import TRANSCRIPT, scoring_answer, seed_interview
from tests.support import auth_headers, call_function

pytestmark = pytest.mark.usefixtures("scoring_services", "durable")


async def score(interview, user=None):
    return await call_function(
        "score_interview",
        "POST",
        {"interviewId": str(interview.id)},
        auth_headers(user or interview.recruiter),
        path="/api/ai/score",
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::1",
    )


async def candidate_of(db, interview) -> uuid.UUID:
    row = await db.fetch_one("select candidate_id from applications where id = %s", (interview.application_id,))
    return row["candidate_id"]


async def test_a_scored_interview_has_one_row_per_call_with_versions_hash_and_no_text(db, model):
    interview = await seed_interview(db)
    result = await score(interview)
    assert result.status == 200, result
    candidate = await candidate_of(db, interview)

    [row] = await rows_about(db, candidate)
    [request] = model.chat_requests
    assert row["purpose"] == "score" and row["outcome"] == "ok"
    assert (row["organisation_id"], row["interview_id"]) == (interview.organisation_id, interview.id)
    assert row["model"] == SCORING_MODEL and row["prompt_version"] == PROMPT_VERSION
    assert row["rubric_version"] == "default-v1"
    assert row["input_sha256"] == sent_digest(request)
    assert row["input_tokens"] == 10 and row["output_tokens"] > 0  # the double's usage
    assert type(row["latency_ms"]) is int and row["latency_ms"] >= 0
    stored = await db.fetch_one(
        "select narrative_summary, candidate_feedback from interview_scores where interview_id = %s", (interview.id,)
    )
    assert_no_text(
        [row],
        *(turn["content"][:30] for turn in TRANSCRIPT),
        stored["narrative_summary"],
        stored["candidate_feedback"],
        "Evidence for",
    )


async def test_an_answer_corrected_by_a_second_call_is_repaired(db, model):
    interview = await seed_interview(db)
    calls = []

    def first_incomplete(request):
        calls.append(request)
        # first a rubric dimension is missing: the client sends the problem back once
        return scoring_answer(request, skip=_first_dimension(request) if len(calls) == 1 else None)

    model.default_responder = first_incomplete
    assert (await score(interview)).status == 200
    [row] = await rows_about(db, await candidate_of(db, interview))
    assert len(model.chat_requests) == 2
    assert row["outcome"] == "repaired" and row["input_sha256"] == sent_digest(model.chat_requests[0])
    assert row["input_tokens"] == 20  # both requests' usage


def _first_dimension(request):
    document = json.loads(next(m["content"] for m in request["messages"] if m["role"] == "user"))
    return document["rubric"][0]["key"]


async def test_a_failing_model_is_logged_as_failed(db, model):
    interview = await seed_interview(db)
    model.default_responder = lambda request: tool_call_reply("wrong_tool", {"nothing": True})
    result = await score(interview)
    assert result.status == 502, result
    rows = await rows_about(db, await candidate_of(db, interview))
    # SCORE_RETRY_ATTEMPTS is 2 here: each attempt is one call (two requests each), one row each
    assert [r["outcome"] for r in rows] == ["failed", "failed"]
    assert all(r["input_tokens"] == 20 and r["interview_id"] == interview.id for r in rows)
    assert (await db.fetch_one("select count(*) as n from interview_scores where interview_id = %s", (interview.id,)))[
        "n"
    ] == 0
