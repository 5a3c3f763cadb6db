"""Every AI endpoint over HTTP through the local host, answered by the embedded
model (SmolLM2-135M-Instruct on the CPU, grammar-constrained JSON for the
structured calls). A model this small writes weak content; what must hold is
what the app promises whatever the model: every answer passes the app's
validation (repaired or after its one retry), scores are stored, streams end
properly. Content is checked only where the grammar or the app guarantees it."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from shared.ai.local_model import MODEL_NAME
from shared.interviewer.models import InterviewerResponse
from shared.requirements.models import ExtractRequirementsResponse
from shared.resumes.models import ParseResumeResponse
from shared.scoring.models import ScoreResponse
from shared.scoring.rules import DEFAULT_RUBRIC
from shared.shortlist.models import ShortlistResponse
from tests.ai import pdfs
from tests.ai.seed import add_profile, create_application, create_org, create_role, years_ago
from tests.local_model.conftest import REPORT, ai_events, answer_report
from tests.local_model.cv_pdfs import latex_cv_pdf, word_processor_cv_pdf
from tests.local_model.texts import CANDIDATE_ANSWERS, JOB_AD, TEN_TURN_TRANSCRIPT
from tests.scoring.conftest import score_rows, seed_interview
from tests.support import auth_headers, create_user

pytestmark = pytest.mark.model

TIMEOUT = httpx.Timeout(300, connect=5)


@pytest.fixture
async def client(local_model_host):
    async with httpx.AsyncClient(base_url=local_model_host, timeout=TIMEOUT) as http:
        yield http


def headers_for(user) -> dict[str, str]:
    return {**auth_headers(user), "x-forwarded-for": f"2001:db8:{uuid.uuid4().hex[:4]}::1"}


@pytest.mark.parametrize("kind", ["plain", "latex", "word_processor"])
async def test_parse_resume_of_three_kinds_of_pdf(db, client, kind):
    data = {"plain": pdfs.cv_pdf, "latex": latex_cv_pdf, "word_processor": word_processor_cv_pdf}[kind]()
    user = await create_user(db)
    response = await client.post(
        "/api/ai/parse-resume", files={"file": (f"{kind}.pdf", data, "application/pdf")}, headers=headers_for(user)
    )
    assert response.status_code == 200, response.text
    parsed = ParseResumeResponse.model_validate(response.json())
    assert parsed.success is True


async def test_extract_requirements_from_a_job_ad(db, client):
    user = await create_user(db)
    response = await client.post(
        "/api/ai/extract-requirements",
        json={"jobTitle": "Senior Backend Engineer", "jobDescription": JOB_AD},
        headers=headers_for(user),
    )
    assert response.status_code == 200, response.text
    extracted = ExtractRequirementsResponse.model_validate(response.json())
    assert extracted.success is True


async def test_six_turn_practice_interview_json_and_streamed(db, client):
    user = await create_user(db)
    headers = headers_for(user)
    context = {
        "isPractice": True,
        "jobTitle": "Senior Backend Engineer",
        "companyName": "Fintech Labs",
        "totalQuestions": 6,
        "competenciesToCover": ["technical_skills", "communication", "problem_solving"],
    }
    messages: list[dict] = []
    for index in range(6):
        body = {**context, "messages": messages, "currentQuestionIndex": index}
        if index % 2 == 0:
            response = await client.post("/api/ai/interviewer", json=body, headers=headers)
            assert response.status_code == 200, response.text
            reply = InterviewerResponse.model_validate(response.json())
        else:
            reply = await streamed_turn(client, body, headers)
        assert reply.message.strip()
        messages += [
            {"role": "assistant", "content": reply.message},
            {"role": "user", "content": CANDIDATE_ANSWERS[index]},
        ]


async def streamed_turn(client, body, headers) -> InterviewerResponse:
    events = []
    async with client.stream("POST", "/api/ai/interviewer/stream", json=body, headers=headers) as stream:
        assert stream.status_code == 200, await stream.aread()
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    assert events[-1] == "[DONE]"
    parsed = [json.loads(event) for event in events[:-1]]
    assert not [event for event in parsed if "error" in event]
    done = parsed[-1]
    assert done["done"] is True
    assert "".join(event["content"] for event in parsed if "content" in event) == done["message"]
    return InterviewerResponse.model_validate(
        {key: done[key] for key in ("message", "detectedCompetencies", "competencyCovered")}
    )


async def test_score_a_ten_turn_transcript_against_the_default_rubric(db, client):
    interview = await seed_interview(db, transcript=TEN_TURN_TRANSCRIPT)
    response = await client.post(
        "/api/ai/score", json={"interviewId": str(interview.id)}, headers=headers_for(interview.recruiter)
    )
    assert response.status_code in (200, 202), response.text
    if response.status_code == 202:  # a slow machine: the recruiter's page polls the status route
        status_url = response.json()["statusQueryGetUri"]
        for _ in range(300):
            response = await client.get(status_url, headers=headers_for(interview.recruiter))
            if response.status_code != 202:
                break
            await asyncio.sleep(2)
    assert response.status_code == 200, response.text
    score = ScoreResponse.model_validate(response.json())
    assert sorted(d.dimension for d in score.dimensions) == sorted(DEFAULT_RUBRIC)
    assert all(0 <= d.score <= 10 for d in score.dimensions) and 0 <= score.overall_score <= 100
    scores, dimensions = await score_rows(db, interview.id)
    assert len(scores) == 1 and scores[0]["overall_score"] == score.overall_score
    assert scores[0]["model_version"] == MODEL_NAME
    assert len(dimensions) == len(DEFAULT_RUBRIC)


async def test_shortlist_ranked_by_the_model(db, client):
    recruiter = await create_user(db)
    role = await create_role(
        db,
        await create_org(db, recruiter),
        title="Senior Backend Engineer",
        requirements={
            "skills": ["Python", "PostgreSQL", "Kafka"],
            "experience": ["5+ years of backend work"],
            "qualifications": [],
            "responsibilities": ["Design services"],
            "interviewQuestions": [],
        },
    )
    applicants = []
    for skills, title in (
        (["Python", "PostgreSQL", "Kafka"], "Backend Engineer"),
        (["Java", "Spring"], "Software Developer"),
        (["Excel"], "Office Manager"),
    ):
        application, candidate = await create_application(db, role)
        await add_profile(
            db, candidate, skills=skills, jobs=[(title, "Example Pty Ltd", years_ago(6), None, f"{title} work.")]
        )
        applicants.append(str(application))
    response = await client.post(
        "/api/ai/generate-shortlist", json={"roleId": str(role)}, headers=headers_for(recruiter)
    )
    assert response.status_code == 200, response.text
    shortlist = ShortlistResponse.model_validate(response.json())
    assert shortlist.rankedBy == "model"  # "rules" would mean the model's answers failed validation twice
    assert sorted(str(m.applicationId) for m in shortlist.matches) == sorted(applicants)


def test_every_structured_answer_passed_validation(local_model_host):
    """Runs last: from the host's log, no answer failed twice; the counts of answers
    that needed a retry or a repair are written to .local/local-model-answers.json."""
    report = answer_report(ai_events(local_model_host))
    REPORT.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    assert report["purposes"], "no AI calls were logged"
    assert {
        purpose: counts["failedTwice"] for purpose, counts in report["purposes"].items() if counts["failedTwice"]
    } == {}
