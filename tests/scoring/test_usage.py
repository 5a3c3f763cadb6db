"""A scoring run's model call is charged to the interview's organisation
(app.ai_usage, issue 24), and a spent budget stops it before the model is asked."""

import uuid

import pytest

from shared.platform.ai_usage import Prices, UsageLedger
from tests.ai.fixtures import SCORING_MODEL
from tests.scoring.conftest import seed_interview
from tests.support import auth_headers, call_function

pytestmark = pytest.mark.usefixtures("scoring_services", "durable")


async def score(interview):
    return await call_function(
        "score_interview",
        "POST",
        {"interviewId": str(interview.id)},
        auth_headers(interview.recruiter),
        path="/api/ai/score",
        client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::1",
    )


async def test_a_scoring_run_is_charged_to_the_organisation(db, model):
    interview = await seed_interview(db)
    assert (await score(interview)).status == 200
    [row] = await db.fetch_all(
        "select purpose, model, outcome, input_tokens, output_tokens from app.ai_usage where organisation_id = %s",
        (interview.organisation_id,),
    )
    assert (row["purpose"], row["model"], row["outcome"], row["input_tokens"]) == ("score", SCORING_MODEL, "ok", 10)
    assert row["output_tokens"] > 0


@pytest.fixture
def priced(services):
    """A price for the scoring model (one without costs 0, and no budget holds it back)."""
    services.__dict__["usage"] = UsageLedger(services.db, Prices({SCORING_MODEL: (1.0, 1.0)}), None)
    yield
    services.__dict__.pop("usage", None)


@pytest.mark.usefixtures("priced")
async def test_a_spent_budget_stops_the_run_before_the_model(db, model):
    interview = await seed_interview(db)
    await db.execute(
        "insert into app.ai_budgets (organisation_id, monthly_limit_usd) values (%s, 0)", (interview.organisation_id,)
    )
    result = await score(interview)
    assert result.status == 402 and "Usage limit" in result.json()["error"], result
    assert model.chat_requests == []
