"""The AI decision log (issue 23, EU AI Act Art. 12) for CV parsing and the shortlist:
one row per model call per candidate, with the hash of exactly what the model
received, the provider's token counts and the outcome; never the text. (Scoring:
tests/scoring/test_decision_log.py; the interviewer: tests/interviewer/.)"""

from __future__ import annotations

import pytest

from shared.resumes import prompts as resume_prompt
from shared.shortlist import prompts as shortlist_prompt
from tests.ai import pdfs
from tests.ai.decision_log import assert_no_text, rows_about, sent_digest
from tests.ai.fixtures import MODEL
from tests.doubles.openai_server import ScriptedReply
from tests.resumes.test_parse_resume import PARSED, multipart
from tests.shortlist.test_shortlist import rank_in_order, seeded_role
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("cv_services")


async def parse_upload(user, ip):
    body, headers = multipart(pdfs.cv_pdf())
    return await call_function(
        "parse_resume", "POST", body, {**auth_headers(user), **headers}, client_ip=ip, path="/api/ai/parse-resume"
    )


async def test_a_cv_parse_writes_one_row_about_the_caller(db, model_double, unique_ip):
    user = await create_user(db)
    model_double.push_tool_call(resume_prompt.TOOL_NAME, PARSED)
    result = await parse_upload(user, unique_ip)
    assert result.status == 200, result
    [row] = await rows_about(db, user)
    [request] = model_double.chat_requests
    assert row["purpose"] == "parse_resume" and row["outcome"] == "ok"
    assert row["prompt_version"] == resume_prompt.VERSION and row["model"] == MODEL
    assert row["organisation_id"] is None and row["interview_id"] is None and row["rubric_version"] is None
    assert row["input_sha256"] == sent_digest(request)
    assert row["input_tokens"] == 10 and row["output_tokens"] > 0
    assert_no_text([row], "Alex", "Acme Pty Ltd", "alex.candidate@example.test", "University of Sydney")


async def test_a_sloppy_answer_the_engine_repairs_is_repaired(db, model_double, unique_ip):
    user = await create_user(db)
    location = {**PARSED["personal"]["location"], "postcode": "2000 Sydney NSW, Australia (CBD)"}
    model_double.push_tool_call(
        resume_prompt.TOOL_NAME, {**PARSED, "personal": {**PARSED["personal"], "location": location}}
    )
    assert (await parse_upload(user, unique_ip)).status == 200
    [row] = await rows_about(db, user)
    assert len(model_double.chat_requests) == 1 and row["outcome"] == "repaired"


async def test_a_model_refusal_is_refused_and_a_provider_failure_failed(db, model_double, unique_ip):
    user = await create_user(db)
    refusal = ScriptedReply(content=None, finish_reason="content_filter")
    model_double.push(refusal, ScriptedReply(content=None, finish_reason="content_filter"))
    assert (await parse_upload(user, unique_ip)).status == 502
    model_double.fail_server_error(times=2)  # the first one is retried once
    assert (await parse_upload(user, unique_ip)).status == 502
    refused, failed = await rows_about(db, user)
    assert refused["outcome"] == "refused" and failed["outcome"] == "failed"
    assert failed["input_tokens"] is None and failed["output_tokens"] is None  # no usage reported


async def test_a_shortlist_ranking_writes_one_row_per_candidate_shown(db, model_double, unique_ip):
    recruiter, role, people = await seeded_role(db)
    model_double.default_responder = rank_in_order(lambda ids: ids)
    result = await call_function(
        "generate_shortlist",
        "POST",
        {"roleId": str(role)},
        auth_headers(recruiter),
        client_ip=unique_ip,
        path="/api/ai/generate-shortlist",
    )
    assert result.status == 200 and result.json()["rankedBy"] == "model", result
    [request] = model_double.chat_requests
    organisation = (await db.fetch_one("select organisation_id from job_roles where id = %s", (role,)))[
        "organisation_id"
    ]
    rows = []
    for name in ("strong", "medium", "weak"):
        candidate = (await db.fetch_one("select candidate_id from applications where id = %s", (people[name],)))[
            "candidate_id"
        ]
        [row] = await rows_about(db, candidate)
        rows.append(row)
    paused = (await db.fetch_one("select candidate_id from applications where id = %s", (people["paused"],)))[
        "candidate_id"
    ]
    assert await rows_about(db, paused) == []  # not shown to the model: not concerned
    assert len({r["call_id"] for r in rows}) == 1  # one call
    assert {(r["purpose"], r["outcome"], r["organisation_id"], r["interview_id"]) for r in rows} == {
        ("shortlist", "ok", organisation, None)
    }
    assert {r["prompt_version"] for r in rows} == {shortlist_prompt.VERSION}
    assert {r["input_sha256"] for r in rows} == {sent_digest(request)}
    assert_no_text(rows, "Name-strong", "Led a team of 5", "model reason")
