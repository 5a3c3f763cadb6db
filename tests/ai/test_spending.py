"""Spending needs a reason (issue 21): every model call carries an output cap,
and a user's requests to the endpoints that call the model are counted per
day, answered 402 "Usage limit" past the budget."""

from __future__ import annotations

import pytest

from shared.ai.client import DEFAULT_OUTPUT_CAPS, FALLBACK_OUTPUT_CAP, ai_from_settings
from shared.interviewer import competency_prompts as competency_prompt
from shared.platform.buckets import Bucket
from shared.platform.config import Settings
from tests.ai.fixtures import ai_settings, route_replies
from tests.doubles.openai_server import tool_call_reply
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("ai_services")

PRACTICE = {
    "isPractice": True,
    "messages": [{"role": "assistant", "content": "Tell me about you."}, {"role": "user", "content": "I build APIs."}],
}


async def practice_turn(user, ip):
    return await call_function("ai_interviewer", "POST", PRACTICE, auth_headers(user), client_ip=ip)


async def test_every_model_request_carries_its_purposes_output_cap(db, model_double, unique_ip):
    route_replies(
        model_double,
        text="Good. What was the hardest bug?",
        tools={competency_prompt.TOOL_NAME: tool_call_reply(competency_prompt.TOOL_NAME, {"detectedCompetencies": []})},
    )
    assert (await practice_turn(await create_user(db), unique_ip)).status == 200
    sent = model_double.chat_requests
    assert len(sent) == 2
    caps = {("tool" if body.get("tools") else "text"): body.get("max_completion_tokens") for body in sent}
    assert caps == {"text": DEFAULT_OUTPUT_CAPS["interviewer"], "tool": DEFAULT_OUTPUT_CAPS["interviewer.competencies"]}


async def test_the_caps_are_a_setting_by_purpose(model_double):
    client = ai_from_settings(ai_settings(model_double, AI_MAX_OUTPUT_TOKENS='{"score": 1234}'))
    assert client.output_cap("score") == 1234
    assert client.output_cap("shortlist") == DEFAULT_OUTPUT_CAPS["shortlist"]
    assert client.output_cap("something new") == FALLBACK_OUTPUT_CAP
    for bad in ('{"score": 0}', '{"score": "lots"}', "[1]", "not json"):
        with pytest.raises(ValueError, match="AI_MAX_OUTPUT_TOKENS"):
            Settings(APP_ENV="test", AI_MAX_OUTPUT_TOKENS=bad)


async def test_past_the_daily_budget_a_user_gets_402_usage_limit(db, services, model_double, unique_ip, monkeypatch):
    monkeypatch.setitem(services.rate_limiter.limits, Bucket.AI_DAILY, (3, 86_400))
    route_replies(
        model_double,
        text="Next?",
        tools={competency_prompt.TOOL_NAME: tool_call_reply(competency_prompt.TOOL_NAME, {"detectedCompetencies": []})},
    )
    user, other = await create_user(db), await create_user(db)
    statuses = [(await practice_turn(user, unique_ip)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 402]
    refused = await practice_turn(user, unique_ip)
    assert refused.status == 402 and "Usage limit" in refused.json()["error"]
    calls = len(model_double.chat_requests)
    assert calls == 6  # the refused requests never reached the model
    assert (await practice_turn(other, unique_ip)).status == 200  # the budget is per user
    bad = await call_function("ai_interviewer", "POST", {"messages": "no"}, auth_headers(other), client_ip=unique_ip)
    assert bad.status == 400  # an invalid request spends nothing
    row = await db.fetch_one(
        "select count from app.rate_limit_counters where key = %s", (f"{Bucket.AI_DAILY}|user:{other}",)
    )
    assert row["count"] == 1


# Every endpoint whose service calls the model: each spends the budget and documents 402.
CALLS_THE_MODEL = {
    "ai_interviewer",
    "ai_interviewer_stream",
    "extract_requirements",
    "parse_resume",
    "score_interview",
    "generate_shortlist",
}


def test_every_endpoint_that_calls_the_model_spends_the_budget_and_documents_402():
    import function_app  # noqa: F401  (registers every endpoint)
    from shared.platform.http import ENDPOINTS

    assert {name for name, spec in ENDPOINTS.items() if spec.model_budget} == CALLS_THE_MODEL
    assert all(402 in ENDPOINTS[name].errors for name in CALLS_THE_MODEL)


async def test_the_shortlist_spends_the_same_budget(db, services, unique_ip, monkeypatch):
    from tests.shortlist.test_shortlist import request, seeded_role

    monkeypatch.setitem(services.rate_limiter.limits, Bucket.AI_DAILY, (1, 86_400))
    services.__dict__.pop("ai", None)  # the rules answer: the budget is counted all the same
    recruiter, role, _ = await seeded_role(db)
    first = await request(recruiter, {"roleId": str(role)}, unique_ip)
    second = await request(recruiter, {"roleId": str(role)}, unique_ip)
    assert (first.status, second.status) == (200, 402)
    assert "Usage limit" in second.json()["error"]
