"""POST /api/ai/extract-requirements as the worker calls it, against the OpenAI double."""

from __future__ import annotations

import json

import pytest

from shared.requirements import prompts as prompt
from tests.ai.fixtures import MODEL
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("ai_services")

EXTRACTED = {
    "skills": ["React", "TypeScript"],
    "experience": ["5+ years of frontend development"],
    "qualifications": ["Bachelor's degree in Computer Science"],
    "responsibilities": ["Lead the frontend architecture"],
    "interviewQuestions": ["Tell me about a React app you architected."],
}
DESCRIPTION = "We're looking for a senior engineer with 5+ years of React and TypeScript..."


async def extract(user, body, ip):
    return await call_function(
        "extract_requirements", "POST", body, auth_headers(user), client_ip=ip, path="/api/ai/extract-requirements"
    )


async def test_returns_the_five_lists_and_sends_the_description_as_data(db, model_double, unique_ip):
    model_double.push_tool_call(prompt.TOOL_NAME, EXTRACTED)
    user = await create_user(db)
    result = await extract(user, {"jobDescription": DESCRIPTION, "jobTitle": "Senior Engineer"}, unique_ip)
    assert result.status == 200, result
    assert result.json() == {"success": True, "requirements": EXTRACTED}
    [sent] = model_double.chat_requests
    assert sent["model"] == MODEL
    assert sent["messages"][0] == {"role": "system", "content": prompt.SYSTEM_PROMPT}
    assert json.loads(sent["messages"][1]["content"]) == {
        "job_title": "Senior Engineer",
        "job_description": DESCRIPTION,
    }
    assert sent["tool_choice"]["function"]["name"] == prompt.TOOL_NAME
    schema = sent["tools"][0]["function"]["parameters"]
    assert set(schema["required"]) == set(EXTRACTED)


async def test_a_repairable_answer_is_repaired_not_retried(db, model_double, unique_ip):
    user = await create_user(db)
    model_double.push_tool_call(
        prompt.TOOL_NAME, {**EXTRACTED, "skills": "React", "seniority": "Senior", "qualifications": ["", "x" * 400]}
    )
    result = await extract(user, {"jobDescription": DESCRIPTION}, unique_ip)
    assert result.status == 200, result
    requirements = result.json()["requirements"]
    assert requirements["skills"] == ["React"] and "seniority" not in requirements
    assert requirements["qualifications"] == ["x" * 300]
    assert len(model_double.chat_requests) == 1


async def test_an_unreadable_answer_is_retried_then_502(db, model_double, unique_ip):
    user = await create_user(db)
    model_double.push_tool_call(prompt.TOOL_NAME, '{"skills": ["React"')  # cut off
    model_double.push_tool_call(prompt.TOOL_NAME, '["React"]')  # not an object
    result = await extract(user, {"jobDescription": DESCRIPTION}, unique_ip)
    assert result.status == 502 and "invalid answer" in result.json()["error"]
    assert len(model_double.chat_requests) == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "jobDescription"),
        ({"jobDescription": "   "}, "jobDescription"),
        ({"jobDescription": "x" * 50_001}, "jobDescription"),
        ({"jobDescription": 12}, "jobDescription"),
    ],
)
async def test_invalid_bodies_are_400(db, model_double, unique_ip, body, field):
    user = await create_user(db)
    result = await extract(user, body, unique_ip)
    assert result.status == 400 and [d["field"] for d in result.json()["details"]] == [field]
    assert model_double.chat_requests == []


async def test_upstream_errors_map_to_the_contract(db, model_double, unique_ip):
    user = await create_user(db)
    model_double.fail_insufficient_credits()
    assert (await extract(user, {"jobDescription": DESCRIPTION}, unique_ip)).status == 402
    model_double.fail_rate_limited(retry_after=3)
    result = await extract(user, {"jobDescription": DESCRIPTION}, unique_ip)
    assert result.status == 429 and result.headers["retry-after"] == "3"


async def test_unauthenticated_is_401(unique_ip):
    result = await call_function(
        "extract_requirements",
        "POST",
        {"jobDescription": "x"},
        {},
        client_ip=unique_ip,
        path="/api/ai/extract-requirements",
    )
    assert result.status == 401
