"""AI usage and budgets per organisation (issue 24): every model call leaves one
app.ai_usage row with the provider's token counts and an estimated cost, charged to
the organisation (and the caller); GET /api/reports/ai-usage adds them up per day
and purpose; an organisation's monthly budget refuses further calls with 402
"Usage limit", exact under concurrency."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.interviewer import competency_prompts as competency_prompt
from shared.platform.ai_usage import DEFAULT_PRICES, Prices, UsageLedger, input_token_bound
from shared.platform.config import DEV_SERVICE_KEY, Settings
from shared.resumes import prompts as resume_prompt
from tests.ai import pdfs
from tests.ai.fixtures import MODEL, route_replies
from tests.ai.seed import create_application, create_interview, create_org, create_role
from tests.doubles.openai_server import ScriptedReply, _usage
from tests.interviewer.test_interviewer import REPLY, competencies, conversation, turn
from tests.resumes.test_parse_resume import PARSED, multipart
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("ai_services")

SERVICE = {"x-service-key": DEV_SERVICE_KEY}
PRICE = (1000.0, 2000.0)  # USD per million tokens for the double's model: large enough to see


def ip() -> str:
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::9"


@pytest.fixture
def ledger(services):
    """The usage ledger with a price for the test model and no default budget."""
    usage = UsageLedger(services.db, Prices({MODEL: PRICE}), None)
    services.__dict__["usage"] = usage
    yield usage
    services.__dict__.pop("usage", None)


def cost(input_tokens: int, output_tokens: int) -> Decimal:
    return Decimal(str(PRICE[0])) * input_tokens / 1_000_000 + Decimal(str(PRICE[1])) * output_tokens / 1_000_000


async def organisation_with_interviews(db, candidates: int, budget: Decimal | None = None):
    """An org with an admin, a role, and an open interview for each of `candidates` new users."""
    admin = await create_user(db)
    org = await create_org(db, admin, role="admin", name="Usage Co")
    role = await create_role(
        db, org, title="Data Engineer", description="Pipelines.", requirements={"interviewQuestions": ["Why?"]}
    )
    people = []
    for _ in range(candidates):
        application, candidate = await create_application(db, role, await create_user(db))
        interview = await create_interview(db, application, status="in_progress", started_at=datetime.now(UTC))
        people.append((candidate, interview))
    if budget is not None:
        await db.execute(
            "insert into app.ai_budgets (organisation_id, monthly_limit_usd) values (%s, %s)", (org, budget)
        )
    return org, admin, people


async def usage_report(org, headers, query=None):
    today = datetime.now(UTC).date().isoformat()
    return await call_function(
        "ai_usage_report",
        "GET",
        None,
        headers,
        query=query if query is not None else f"organisationId={org}&from={today}&to={today}",
        client_ip=ip(),
        path="/api/reports/ai-usage",
    )


async def test_the_report_adds_up_the_tokens_the_model_reported_per_purpose(db, model_double, ledger):
    reply, assessment = ScriptedReply(content=REPLY), competencies("communication")
    route_replies(model_double, text=reply, tools={competency_prompt.TOOL_NAME: assessment})
    org, admin, people = await organisation_with_interviews(db, 2)
    _, _, others = await organisation_with_interviews(db, 1)  # another organisation's turn
    for candidate, interview in [*people, *others]:
        body = {"interviewId": str(interview), "messages": conversation()}
        assert (await turn(candidate, body, ip())).status == 200

    result = await usage_report(org, auth_headers(admin))
    assert result.status == 200, result
    report = result.json()
    by_purpose = {day["purpose"]: day for day in report["days"]}
    assert set(by_purpose) == {"interviewer", "interviewer.competencies"}  # not the other organisation's
    for purpose, scripted in (("interviewer", reply), ("interviewer.competencies", assessment)):
        usage = _usage(scripted)  # what the double reported for each such call
        day = by_purpose[purpose]
        assert day["calls"] == 2
        assert (day["inputTokens"], day["outputTokens"]) == (2 * usage["prompt_tokens"], 2 * usage["completion_tokens"])
        assert Decimal(str(day["estimatedCost"])) == 2 * cost(usage["prompt_tokens"], usage["completion_tokens"])
    totals = report["totals"]
    assert totals["calls"] == 4
    assert totals["inputTokens"] == sum(d["inputTokens"] for d in report["days"])
    assert report["currency"] == "USD" and report["budget"]["monthlyLimit"] is None
    assert report["budget"]["spentThisMonth"] == pytest.approx(totals["estimatedCost"])
    assert report["budget"]["reservedThisMonth"] == 0
    assert report["from"] == report["to"] == datetime.now(UTC).date().isoformat()


async def test_calls_without_an_organisation_are_charged_to_the_caller(db, model_double, ledger):
    route_replies(model_double, text=REPLY, tools={competency_prompt.TOOL_NAME: competencies()})
    candidate = await create_user(db)
    assert (await turn(candidate, {"messages": conversation(), "practice": True}, ip())).status == 200
    model_double.reset()
    model_double.push_tool_call(resume_prompt.TOOL_NAME, PARSED)
    body, headers = multipart(pdfs.cv_pdf())
    parsed = await call_function(
        "parse_resume",
        "POST",
        body,
        {**auth_headers(candidate), **headers},
        client_ip=ip(),
        path="/api/ai/parse-resume",
    )
    assert parsed.status == 200, parsed
    rows = await db.fetch_all(
        "select organisation_id, purpose, model, outcome, input_tokens from app.ai_usage where user_id = %s",
        (candidate,),
    )
    assert sorted(r["purpose"] for r in rows) == ["interviewer", "interviewer.competencies", "parse_resume"]
    assert all(r["organisation_id"] is None and r["model"] == MODEL and r["input_tokens"] == 10 for r in rows)


async def test_the_budget_holds_under_twenty_concurrent_turns(db, services, model_double):
    # Output tokens only, priced high, and replies as long as the interviewer's cap: what
    # twenty turns would really spend is far over the limit, so only the budget keeps it under.
    cap = 400  # DEFAULT_OUTPUT_CAPS["interviewer"]
    long_reply = ("Tell me more about that pipeline. " * 60)[: cap * 4]
    assert _usage(ScriptedReply(content=long_reply))["completion_tokens"] == cap
    per_token = Decimal("0.001")
    services.__dict__["usage"] = UsageLedger(services.db, Prices({MODEL: (0.0, float(per_token * 1_000_000))}), None)
    route_replies(model_double, text=long_reply, tools={competency_prompt.TOOL_NAME: competencies()})
    org, _, people = await organisation_with_interviews(db, 20)
    limit = Decimal("2.0")  # five replies' real cost; twenty would be 8 USD
    await db.execute("insert into app.ai_budgets (organisation_id, monthly_limit_usd) values (%s, %s)", (org, limit))
    try:
        results = await asyncio.gather(
            *(turn(c, {"interviewId": str(i), "messages": conversation()}, ip()) for c, i in people)
        )
    finally:
        services.__dict__.pop("usage", None)
    statuses = [r.status for r in results]
    refused = [r for r in results if r.status == 402]
    assert refused and 200 in statuses and set(statuses) <= {200, 402}, statuses
    assert all("Usage limit" in r.json()["error"] for r in refused)

    # Every reservation settles. A call cancelled with its refused turn settles in a task
    # shielded from the cancellation, which may finish just after the responses: wait for it
    # (bounded), then read the month and the usage rows together.
    for _ in range(50):
        month = await db.fetch_one(
            "select spent, reserved from app.ai_budget_months where organisation_id = %s", (org,)
        )
        if month["reserved"] == 0:
            break
        await asyncio.sleep(0.1)
    used = await db.fetch_one(
        "select count(*) as calls, sum(estimated_cost) as spent from app.ai_usage where organisation_id = %s", (org,)
    )
    assert month["reserved"] == 0
    # Within the limit plus at most one call's output cap (here: not past the limit at all).
    assert month["spent"] == used["spent"] <= limit + cap * per_token
    # Every request the model received is charged (a call cancelled with its refused turn
    # may be charged, as failed, before its request reached the double).
    assert len(model_double.chat_requests) <= used["calls"]


async def test_a_failed_call_releases_its_reservation(db, model_double, ledger):
    route_replies(model_double, text=None, tools={competency_prompt.TOOL_NAME: competencies()})  # text: 500s
    org, _, [(candidate, interview)] = await organisation_with_interviews(db, 1, budget=Decimal(1000))
    result = await turn(candidate, {"interviewId": str(interview), "messages": conversation()}, ip())
    assert result.status == 502
    month = await db.fetch_one("select spent, reserved from app.ai_budget_months where organisation_id = %s", (org,))
    assert month["reserved"] == 0
    failed = await db.fetch_one(
        "select outcome, input_tokens, estimated_cost from app.ai_usage where organisation_id = %s and purpose = %s",
        (org, "interviewer"),
    )
    assert (failed["outcome"], failed["input_tokens"], failed["estimated_cost"]) == ("failed", 0, 0)


async def test_a_spent_budget_refuses_before_the_model_is_asked(db, model_double, ledger):
    route_replies(model_double, text=REPLY, tools={competency_prompt.TOOL_NAME: competencies()})
    org, _, [(candidate, interview)] = await organisation_with_interviews(db, 1, budget=Decimal(0))
    result = await turn(candidate, {"interviewId": str(interview), "messages": conversation()}, ip(), stream=True)
    assert result.status == 402 and "Usage limit" in result.json()["error"]
    assert model_double.chat_requests == []


async def test_the_setting_is_the_default_budget_and_a_null_override_unlimited(db, services, model_double):
    services.__dict__["usage"] = UsageLedger(services.db, Prices({MODEL: PRICE}), 0.0)
    try:
        route_replies(model_double, text=REPLY, tools={competency_prompt.TOOL_NAME: competencies()})
        org, _, [(candidate, interview), (other, its_interview)] = await organisation_with_interviews(db, 2)
        body = {"interviewId": str(interview), "messages": conversation()}
        assert (await turn(candidate, body, ip())).status == 402  # AI_ORG_MONTHLY_BUDGET_USD=0
        await db.execute("insert into app.ai_budgets (organisation_id, monthly_limit_usd) values (%s, null)", (org,))
        body = {"interviewId": str(its_interview), "messages": conversation()}
        assert (await turn(other, body, ip())).status == 200
    finally:
        services.__dict__.pop("usage", None)


async def test_the_report_answers_admins_and_the_service_only(db, ledger):
    org, admin, [(candidate, _)] = await organisation_with_interviews(db, 1)
    org_admin, recruiter, stranger = await create_user(db), await create_user(db), await create_user(db)
    for user, role in ((org_admin, "org_admin"), (recruiter, "recruiter")):
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, %s)", (org, user, role)
        )
    assert (await usage_report(org, auth_headers(admin))).status == 200
    assert (await usage_report(org, auth_headers(org_admin))).status == 200
    assert (await usage_report(org, SERVICE)).status == 200
    assert (await usage_report(org, auth_headers(recruiter))).status == 403
    assert (await usage_report(org, auth_headers(stranger))).status == 404
    assert (await usage_report(org, auth_headers(candidate))).status == 404
    assert (await usage_report(uuid.uuid4(), SERVICE)).status == 404
    assert (await usage_report(org, {})).status == 401
    for bad in (
        f"organisationId={org}&from=2026-02-01&to=2026-01-01",  # the wrong way round
        f"organisationId={org}&from=2024-01-01&to=2026-01-01",  # more than a year
        f"organisationId={org}&from=yesterday&to=2026-01-01",
        f"organisationId={org}&to=2026-01-01",
        "organisationId=nope&from=2026-01-01&to=2026-01-01",
    ):
        result = await usage_report(org, SERVICE, query=bad)
        assert result.status == 400, (bad, result)


def test_prices_default_override_and_an_unknown_model_costs_nothing_with_a_warning(caplog):
    prices = Prices({"gpt-4o": (1.0, 2.0), "mine": (3.0, 4.0)})
    assert prices.cost("gpt-4o", 1_000_000, 1_000_000) == Decimal(3)
    assert prices.cost("gpt-4o-mini", 1_000_000, 0) == Decimal(str(DEFAULT_PRICES["gpt-4o-mini"][0]))
    with caplog.at_level(logging.WARNING):
        assert prices.cost("who-knows", 10**6, 10**6) == 0
        assert prices.cost("who-knows", 10**6, 10**6) == 0
    assert sum("ai.price_unknown" in r.getMessage() for r in caplog.records) == 1
    assert Settings(APP_ENV="test", AI_PRICES='{"m": {"input": 1, "output": 2.5}}').ai_prices() == {"m": (1.0, 2.5)}
    for bad in ('{"m": {"input": 1}}', '{"m": {"input": -1, "output": 1}}', "[1]", "nope"):
        with pytest.raises(ValueError, match="AI_PRICES"):
            Settings(APP_ENV="test", AI_PRICES=bad)


def test_the_input_bound_is_never_below_the_text():
    messages = [{"role": "user", "content": "héllo " * 100}]
    assert input_token_bound(messages) >= len(("héllo " * 100).encode())


async def test_a_shortlist_past_the_budget_falls_back_to_the_rules_and_a_ranking_is_charged(db, model_double, ledger):
    from tests.shortlist.test_shortlist import rank_in_order, seeded_role

    model_double.default_responder = rank_in_order(lambda ids: ids)
    recruiter, role, _ = await seeded_role(db)
    org = (await db.fetch_one("select organisation_id from job_roles where id = %s", (role,)))["organisation_id"]

    async def shortlist():
        return await call_function(
            "generate_shortlist",
            "POST",
            {"roleId": str(role)},
            auth_headers(recruiter),
            client_ip=ip(),
            path="/api/ai/generate-shortlist",
        )

    first = await shortlist()
    assert first.status == 200 and first.json()["rankedBy"] == "model", first
    [row] = await db.fetch_all("select user_id, purpose from app.ai_usage where organisation_id = %s", (org,))
    assert (row["user_id"], row["purpose"]) == (recruiter, "shortlist")

    await db.execute("insert into app.ai_budgets (organisation_id, monthly_limit_usd) values (%s, 0)", (org,))
    model_double.reset()
    second = await shortlist()
    assert second.status == 200 and second.json()["rankedBy"] == "rules", second
    assert model_double.chat_requests == []


async def test_a_requirements_extraction_is_charged_to_the_caller(db, model_double, ledger):
    from shared.requirements import prompts as requirements_prompt
    from tests.requirements.test_extract_requirements import DESCRIPTION, EXTRACTED, extract

    model_double.push_tool_call(requirements_prompt.TOOL_NAME, EXTRACTED)
    user = await create_user(db)
    assert (await extract(user, {"jobDescription": DESCRIPTION, "jobTitle": "Engineer"}, ip())).status == 200
    [row] = await db.fetch_all(
        "select organisation_id, purpose, input_tokens, output_tokens, estimated_cost from app.ai_usage"
        " where user_id = %s",
        (user,),
    )
    assert (row["organisation_id"], row["purpose"], row["input_tokens"]) == (None, "extract_requirements", 10)
    assert row["estimated_cost"] == cost(10, row["output_tokens"]) and row["output_tokens"] > 0
