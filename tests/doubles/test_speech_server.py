"""Self-tests: httpx against SpeechTokenDouble."""

import asyncio
import base64
import json

import httpx
import pytest

from tests.doubles.speech_server import SpeechTokenDouble


@pytest.fixture
def double():
    with SpeechTokenDouble(subscription_key="k1") as d:
        yield d


def test_issue_token(double):
    with httpx.Client(timeout=5) as client:
        first = client.post(double.token_url, headers={"Ocp-Apim-Subscription-Key": "k1"})
        second = client.post(double.token_url, headers={"Ocp-Apim-Subscription-Key": "k1"})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    assert first.text != second.text and first.text.count(".") == 2
    payload = json.loads(base64.urlsafe_b64decode(first.text.split(".")[1] + "=="))
    assert payload["exp"] - payload["iat"] == 600
    assert double.tokens_issued == 2


def test_wrong_key_is_401(double):
    with httpx.Client(timeout=5) as client:
        assert client.post(double.token_url, headers={"Ocp-Apim-Subscription-Key": "no"}).status_code == 401
        assert client.post(double.token_url).status_code == 401
    assert double.rejected_requests == 2 and double.tokens_issued == 0


def test_delay_makes_requests_overlap(double):
    double.delay_seconds = 0.3

    async def main():
        async with httpx.AsyncClient(timeout=5) as client:
            return await asyncio.gather(
                *[client.post(double.token_url, headers={"Ocp-Apim-Subscription-Key": "k1"}) for _ in range(3)]
            )

    responses = asyncio.run(main())
    assert all(r.status_code == 200 for r in responses)
    assert double.max_in_flight == 3 and double.tokens_issued == 3


def test_injected_failure_then_recovery(double):
    double.fail_next(503, times=2)
    with httpx.Client(timeout=5) as client:
        statuses = [
            client.post(double.token_url, headers={"Ocp-Apim-Subscription-Key": "k1"}).status_code for _ in range(3)
        ]
    assert statuses == [503, 503, 200]
    double.reset()
    assert double.tokens_issued == 0 and double.requests == []
