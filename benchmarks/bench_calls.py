"""Calls (issue 5), side by side in one run through the local host on an
embedded PostgreSQL, against the ACS identity and Speech doubles (the Speech
double answers after 50 ms, like a real round trip):

1. request cost, interleaved with GET /api/health: a cached Speech token, an
   ACS token for an existing identity, one new ACS event through the webhook,
   and a redelivered (already processed) event;
2. a 100-event webhook batch against 100 single-event posts (per event);
3. single flight: 50 simultaneous requests for a Speech token on a cold cache
   (upstream calls, wall time) against 50 one after another without a cache."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx

from benchmarks.common import bench_database, interleaved, local_host

SECRET = "bench-webhook-secret"
UPSTREAM_DELAY = 0.05


def participant_event(call: dict) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "subject": "call/x",
        "eventType": "Microsoft.Communication.CallParticipantAdded",
        "dataVersion": "1.0",
        "eventTime": "2026-11-20T09:00:00Z",
        "data": {**call, "participantId": uuid.uuid4().hex[:8], "user": {"rawId": "8:acs:bench"}},
    }


async def seed_call(database_url: str) -> dict:
    from shared.platform.db import Database
    from tests.calls.conftest import new_call, seed_interview

    db = Database(database_url)
    call = new_call()
    await seed_interview(db, status="in_progress", metadata=dict(call))
    await db.close()
    return call


async def request_costs(base: str, database_url: str, token: str, rounds: int) -> dict:
    call = await seed_call(database_url)
    user_headers = {"authorization": f"Bearer {token}"}
    hook = {"x-acs-webhook-secret": SECRET}
    redelivered = participant_event(call)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert (await client.post("/api/acs/webhook", json=[redelivered], headers=hook)).status_code == 200

        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def speech() -> bool:
            return (await client.get("/api/azure/speech-token", headers=user_headers)).status_code == 200

        async def acs() -> bool:
            return (await client.post("/api/acs/token", headers=user_headers)).status_code == 200

        async def new_event() -> bool:
            answer = await client.post("/api/acs/webhook", json=[participant_event(call)], headers=hook)
            return answer.status_code == 200

        async def duplicate() -> bool:
            return (await client.post("/api/acs/webhook", json=[redelivered], headers=hook)).status_code == 200

        series = await interleaved(
            {
                "GET /api/health": health,
                "speech-token (cached)": speech,
                "acs/token (known identity)": acs,
                "webhook, 1 new event": new_event,
                "webhook, 1 redelivered": duplicate,
            },
            rounds=rounds,
            concurrency=4,
        )

        # Batches: 100 events in one post against 100 posts of one event.
        events = [participant_event(call) for _ in range(100)]
        started = time.perf_counter()
        answer = await client.post("/api/acs/webhook", json=events, headers=hook)
        batch_ms = (time.perf_counter() - started) * 1000
        assert answer.json()["processed"] == 100
        started = time.perf_counter()
        for event in (participant_event(call) for _ in range(100)):
            await client.post("/api/acs/webhook", json=[event], headers=hook)
        singles_ms = (time.perf_counter() - started) * 1000

    health_median = series["GET /api/health"].median
    for s in series.values():
        print(f"{s.line()}  ratio to health {s.median / health_median:5.2f}")
    print(
        f"webhook batch of 100: {batch_ms / 100:.2f} ms per event; 100 single posts: {singles_ms / 100:.2f} ms "
        f"per event (ratio {singles_ms / batch_ms:.2f})"
    )
    return {
        name: {"median_ms": s.median, "p99_ms": s.p99, "ratio_to_health": s.median / health_median}
        for name, s in series.items()
    } | {"batch_ms_per_event": batch_ms / 100, "single_ms_per_event": singles_ms / 100}


async def single_flight(speech_double) -> dict:
    from shared.adapters.speech_tokens import SpeechTokens

    speech_double.reset()
    speech_double.delay_seconds = UPSTREAM_DELAY
    tokens = SpeechTokens(speech_double.subscription_key, speech_double.region, token_url=speech_double.token_url)
    started = time.perf_counter()
    await asyncio.gather(*(tokens.get() for _ in range(50)))
    shared_ms = (time.perf_counter() - started) * 1000
    shared_calls = speech_double.tokens_issued
    await tokens.close()
    speech_double.reset()
    speech_double.delay_seconds = UPSTREAM_DELAY
    started = time.perf_counter()
    for _ in range(50):
        fresh = SpeechTokens(speech_double.subscription_key, speech_double.region, token_url=speech_double.token_url)
        await fresh.get()
        await fresh.close()
    uncached_ms = (time.perf_counter() - started) * 1000
    print(
        f"50 simultaneous cold requests: {shared_calls} upstream call(s), {shared_ms:.0f} ms; "
        f"50 uncached: {speech_double.tokens_issued} upstream calls, {uncached_ms:.0f} ms "
        f"(ratio {uncached_ms / shared_ms:.1f})"
    )
    return {"single_flight_upstream_calls": shared_calls, "single_flight_ms": shared_ms, "uncached_ms": uncached_ms}


def main(rounds: int = 300) -> dict:
    from tests.doubles.acs_identity_server import AcsIdentityDouble
    from tests.doubles.speech_server import SpeechTokenDouble

    with bench_database() as url, AcsIdentityDouble() as acs, SpeechTokenDouble() as speech:
        speech.delay_seconds = UPSTREAM_DELAY
        env = {
            "DATABASE_URL": url,
            "ACS_CONNECTION_STRING": acs.connection_string,
            "AZURE_SPEECH_KEY": speech.subscription_key,
            "AZURE_SPEECH_REGION": speech.region,
            "AZURE_SPEECH_TOKEN_ENDPOINT": speech.token_url,
            "ACS_WEBHOOK_SECRET": SECRET,
            "AUTO_SCORE_ON_CALL_END": "false",
            "RATE_LIMIT_ENABLED": "false",
        }
        with local_host(env) as base:
            from scripts.dev_token import main as mint_token

            os.environ["DATABASE_URL"] = url
            os.environ.setdefault("APP_ENV", "test")
            token = asyncio.run(mint_token(uuid.uuid4()))
            figures = asyncio.run(request_costs(base, url, token, rounds))
        figures |= asyncio.run(single_flight(speech))
    return figures


if __name__ == "__main__":
    main()
