"""An interviewer turn leaves two AI decision-log rows (issue 23, EU AI Act Art. 12):
the reply and the competency assessment, about the candidate, their interview
and its organisation; hashes of what the model received, token counts (streams
too), outcomes; never the text."""

from __future__ import annotations

import pytest

from shared.interviewer import competency_prompts as competency_prompt
from shared.interviewer import prompts as interviewer_prompt
from tests.ai.decision_log import assert_no_text, rows_about, sent_digest
from tests.ai.fixtures import route_replies
from tests.interviewer.test_interviewer import ANSWER, REPLY, competencies, conversation, requests_by_kind, turn
from tests.interviewer.test_server_owns_the_interview import open_interview
from tests.support import create_user

pytestmark = pytest.mark.usefixtures("ai_services")


async def organisation_of(db, interview):
    row = await db.fetch_one(
        """select r.organisation_id from interviews i join applications a on a.id = i.application_id
             join job_roles r on r.id = a.job_role_id where i.id = %s""",
        (interview,),
    )
    return row["organisation_id"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_turn_logs_the_reply_and_the_competency_call(db, model_double, unique_ip, stream):
    route_replies(model_double, text=REPLY, tools={competency_prompt.TOOL_NAME: competencies("communication")})
    candidate = await create_user(db)
    interview = await open_interview(db, candidate)
    result = await turn(candidate, {"interviewId": str(interview), "messages": conversation()}, unique_ip, stream)
    assert result.status == 200, result
    [reply_request], [assessment_request] = requests_by_kind(model_double)

    rows = {row["purpose"]: row for row in await rows_about(db, candidate)}
    assert set(rows) == {"interviewer", "interviewer.competencies"}
    reply, assessment = rows["interviewer"], rows["interviewer.competencies"]
    organisation = await organisation_of(db, interview)
    for row in (reply, assessment):
        assert (row["organisation_id"], row["interview_id"], row["outcome"]) == (organisation, interview, "ok")
        assert row["rubric_version"] is None
        assert type(row["latency_ms"]) is int and row["latency_ms"] >= 0
        assert row["input_tokens"] == 10 and row["output_tokens"] > 0  # streams ask for the usage chunk
    assert reply["prompt_version"] == interviewer_prompt.VERSION
    assert assessment["prompt_version"] == competency_prompt.VERSION
    assert reply["input_sha256"] == sent_digest(reply_request)
    assert assessment["input_sha256"] == sent_digest(assessment_request)
    assert reply["call_id"] != assessment["call_id"]
    if stream:
        assert reply_request["stream_options"] == {"include_usage": True}
    assert_no_text(list(rows.values()), ANSWER[:40], REPLY[:40], "communication")


async def test_a_failed_reply_is_logged_as_failed_and_a_practice_turn_without_an_interview(db, model_double, unique_ip):
    route_replies(model_double, text=None, tools={competency_prompt.TOOL_NAME: competencies()})  # text: 500s
    candidate = await create_user(db)
    result = await turn(candidate, {"messages": conversation(), "practice": True}, unique_ip)
    assert result.status == 502, result
    rows = {row["purpose"]: row for row in await rows_about(db, candidate)}
    assert rows["interviewer"]["outcome"] == "failed" and rows["interviewer"]["input_tokens"] is None
    # the assessment runs alongside: answered long before the reply's retry pause ends
    assert rows["interviewer.competencies"]["outcome"] == "ok"
    assert all(r["interview_id"] is None and r["organisation_id"] is None for r in rows.values())
