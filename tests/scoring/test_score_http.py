"""Scoring end to end through the local host (its own process): the starter,
the orchestration run by the local Durable runtime, the model double, the
database, and the Durable status URL the 202 points at."""

import asyncio
import uuid

import httpx
import pytest

from shared.scoring.models import ScoreResponse
from tests.ai.fixtures import API_KEY, SCORING_MODEL
from tests.scoring.conftest import score_rows, scoring_answer, seed_interview
from tests.support import auth_headers

WAIT_SECONDS = 8.0  # generous: a loaded machine must not turn a quick score into a 202


@pytest.fixture(scope="module")
def scoring_host(devhosts, openai_double):
    return devhosts.start(
        {
            "AI_BASE_URL": openai_double.url + "/v1",
            "AI_API_KEY": API_KEY,
            "AI_MODEL": "gpt-test",
            "AI_SCORING_MODEL": SCORING_MODEL,
            "SCORE_WAIT_SECONDS": str(WAIT_SECONDS),
            "SCORE_RETRY_ATTEMPTS": "2",
            "SCORE_RETRY_INTERVAL_SECONDS": "0.05",
        }
    )


async def post_score(base, interview):
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.post(
            "/api/ai/score",
            json={"interviewId": str(interview.id)},
            headers={**auth_headers(interview.recruiter), "x-forwarded-for": f"2001:db8:{uuid.uuid4().hex[:4]}::1"},
        )


async def test_post_score_answers_200_with_a_valid_body(scoring_host, db, model):
    interview = await seed_interview(db)
    response = await post_score(scoring_host, interview)
    assert response.status_code == 200, response.text
    body = ScoreResponse.model_validate(response.json())
    assert body.interviewId == interview.id and body.overall_score == 75 and len(body.dimensions) == 8
    assert response.headers["x-request-id"]
    scores, dimensions = await score_rows(db, interview.id)
    assert [s["overall_score"] for s in scores] == [75] and len(dimensions) == 8


async def test_a_slow_model_gives_202_and_the_status_url_later_shows_the_result(scoring_host, db, model):
    interview = await seed_interview(db)

    def slow(request):
        reply = scoring_answer(request)
        reply.delay = WAIT_SECONDS + 0.5
        return reply

    model.default_responder = slow
    response = await post_score(scoring_host, interview)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["id"] == f"score-{interview.id}"
    assert response.headers["location"] == accepted["statusQueryGetUri"]
    # The app's own authenticated status route: no Durable system key reaches the browser.
    assert accepted["statusQueryGetUri"] == f"{scoring_host}/api/ai/score/{interview.id}"
    assert "code=" not in response.text and "durabletask" not in response.text
    headers = auth_headers(interview.recruiter)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(accepted["statusQueryGetUri"])).status_code == 401
        assert (await client.get(accepted["statusQueryGetUri"], headers=auth_headers(uuid.uuid4()))).status_code == 403
        running = await client.get(accepted["statusQueryGetUri"], headers=headers)
        assert running.status_code == 202
        assert running.json()["runtimeStatus"] == "Running" and running.json()["customStatus"]["step"] == "scoring"
        for _ in range(60):
            status = await client.get(accepted["statusQueryGetUri"], headers=headers)
            if status.status_code != 202:
                break
            await asyncio.sleep(0.1)
    assert status.status_code == 200
    assert ScoreResponse.model_validate(status.json()).overall_score == 75
    assert [s["overall_score"] for s in (await score_rows(db, interview.id))[0]] == [75]


async def test_bad_requests_over_http(scoring_host, db, model):
    interview = await seed_interview(db, transcript=[])
    response = await post_score(scoring_host, interview)
    assert response.status_code == 400 and "no candidate speech" in response.json()["error"]
    async with httpx.AsyncClient(base_url=scoring_host) as client:
        missing = await client.post(
            "/api/ai/score", json={"interviewId": str(uuid.uuid4())}, headers=auth_headers(interview.recruiter)
        )
        assert missing.status_code == 404
        assert (await client.get("/api/ai/score")).status_code == 405
        assert (await client.get("/runtime/webhooks/durabletask/instances/score-nope")).status_code == 404
