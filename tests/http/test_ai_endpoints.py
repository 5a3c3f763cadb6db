"""The four AI endpoints over real HTTP through the local host, with the model
and Supabase Storage doubles configured through settings as in production."""

from __future__ import annotations

import json

import httpx
import pytest

from shared.interviewer import competency_prompts as competency_prompt
from shared.requirements import prompts as requirements_prompt
from shared.resumes import prompts as resume_prompt
from tests.ai import pdfs
from tests.ai.fixtures import API_KEY, CV_BUCKET, MODEL, route_replies
from tests.ai.seed import add_profile, create_application, create_org, create_role
from tests.doubles.openai_server import ScriptedReply, tool_call_reply
from tests.resumes.test_parse_resume import PARSED, multipart
from tests.support import ISSUER, auth_headers, create_user


@pytest.fixture(scope="module")
def base_url(devhosts, openai_double, supabase_double):
    return devhosts.start(
        {
            "AI_BASE_URL": openai_double.url + "/v1",
            "AI_API_KEY": API_KEY,
            "AI_MODEL": MODEL,
            "AI_TIMEOUT_SECONDS": "5",
            "SUPABASE_URL": supabase_double.url,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "SUPABASE_SERVICE_ROLE_KEY": supabase_double.service_role_key,
            "CV_BUCKET": CV_BUCKET,
        }
    )


@pytest.fixture
async def client(base_url):
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as http:
        yield http


async def test_interviewer_json_and_stream(db, client, model_double, unique_ip):
    route_replies(
        model_double,
        text=ScriptedReply(content="Great. What did you learn from it?", chunks=5),
        tools={
            competency_prompt.TOOL_NAME: tool_call_reply(
                competency_prompt.TOOL_NAME, {"detectedCompetencies": ["motivation"]}
            )
        },
    )
    user = await create_user(db)
    headers = {**auth_headers(user), "x-forwarded-for": unique_ip}
    body = {
        "messages": [
            {"role": "assistant", "content": "Why this role?"},
            {"role": "user", "content": "I love building for users."},
        ]
    }
    response = await client.post("/api/ai/interviewer", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Great. What did you learn from it?",
        "detectedCompetencies": ["motivation"],
        "competencyCovered": "motivation",
    }
    assert response.headers["x-request-id"]

    events = []
    async with client.stream("POST", "/api/ai/interviewer/stream", json=body, headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert "".join(e["content"] for e in parsed if "content" in e) == "Great. What did you learn from it?"
    assert parsed[-1]["done"] is True and parsed[-1]["detectedCompetencies"] == ["motivation"]

    response = await client.post(
        "/api/ai/interviewer/stream", json={"messages": [{"role": "system", "content": "x"}]}, headers=headers
    )
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/json")


async def test_extract_requirements(db, client, model_double, unique_ip):
    extracted = {
        "skills": ["SQL"],
        "experience": [],
        "qualifications": [],
        "responsibilities": ["Reports"],
        "interviewQuestions": ["How do you test a query?"],
    }
    model_double.push_tool_call(requirements_prompt.TOOL_NAME, extracted)
    user = await create_user(db)
    response = await client.post(
        "/api/ai/extract-requirements",
        json={"jobDescription": "Analyst, SQL, reports"},
        headers={**auth_headers(user), "x-forwarded-for": unique_ip},
    )
    assert response.status_code == 200 and response.json() == {"success": True, "requirements": extracted}


async def test_parse_resume_stored_and_uploaded(db, client, model_double, supabase_double, unique_ip):
    user = await create_user(db)
    headers = {**auth_headers(user), "x-forwarded-for": unique_ip}
    supabase_double.put_object(CV_BUCKET, f"{user}/resume.pdf", pdfs.cv_pdf())
    model_double.push_tool_call(resume_prompt.TOOL_NAME, PARSED)
    response = await client.post(
        "/api/ai/parse-resume", json={"filePath": f"{user}/resume.pdf", "userId": str(user)}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["personal"]["last_name"] == "Candidate"

    model_double.push_tool_call(resume_prompt.TOOL_NAME, PARSED)
    response = await client.post(
        "/api/ai/parse-resume", files={"file": ("cv.pdf", pdfs.cv_pdf(), "application/pdf")}, headers=headers
    )
    assert response.status_code == 200, response.text

    body, multipart_headers = multipart(pdfs.image_only_pdf())
    response = await client.post("/api/ai/parse-resume", content=body, headers={**headers, **multipart_headers})
    assert response.status_code == 422 and "no readable text" in response.json()["error"]


async def test_generate_shortlist(db, client, model_double, unique_ip):
    recruiter = await create_user(db)
    role = await create_role(db, await create_org(db, recruiter))
    application, candidate = await create_application(db, role)
    await add_profile(db, candidate, skills=["React"])
    model_double.push_tool_call(
        "rank_candidates",
        {"rankings": [{"applicationId": str(application), "matchScore": 40, "matchReasons": ["Knows React"]}]},
    )
    response = await client.post(
        "/api/ai/generate-shortlist",
        json={"roleId": str(role)},
        headers={**auth_headers(recruiter), "x-forwarded-for": unique_ip},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # 40 is within SCORE_BAND of the rule score (28: one of three required skills, no interview yet).
    assert body["rankedBy"] == "model" and body["matches"][0]["matchScore"] == 40
    assert body["matches"][0]["matchReasons"] == ["Knows React"] and body["matches"][0]["reviewFlags"] == []
