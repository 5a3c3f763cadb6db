"""Calls over real HTTP through the local host: ACS and Speech tokens against their
doubles, ACS events through the Event Grid runtime endpoint and the webhook."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.calls.conftest import (
    WEBHOOK_SECRET,
    call_data,
    chunk,
    grid_event,
    interview_row,
    new_call,
    recording_data,
    recording_subject,
    seed_interview,
    validation_event,
)
from tests.calls.seed import member
from tests.support import auth_headers

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EVENTGRID = "/runtime/webhooks/eventgrid?functionName=acs_events"


@pytest.fixture(scope="module")
def host(devhosts, acs_double, speech_double):
    return devhosts.start(
        {
            "ACS_CONNECTION_STRING": acs_double.connection_string,  # trailing slash on purpose
            "AZURE_SPEECH_KEY": speech_double.subscription_key,
            "AZURE_SPEECH_REGION": speech_double.region,
            "AZURE_SPEECH_TOKEN_ENDPOINT": speech_double.token_url,
            "ACS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "AUTO_SCORE_ON_CALL_END": "true",
        }
    )


@pytest.fixture
async def client(host):
    async with httpx.AsyncClient(base_url=host, timeout=20) as http:
        yield http


def grid_delivery(events):
    return {
        "content": json.dumps(events),
        "headers": {"aeg-event-type": "Notification", "content-type": "application/json"},
    }


async def linked_interview(db, status="invited", **columns):
    call = new_call()
    return await seed_interview(db, status=status, metadata=dict(call), **columns), call


async def test_acs_token_over_http(db, client, acs_double, unique_ip):
    acs_double.reset()
    user = await member(db)
    headers = {**auth_headers(user), "x-forwarded-for": unique_ip}
    first = await client.post("/api/acs/token", json={"userId": str(user), "scopes": ["voip"]}, headers=headers)
    second = await client.post("/api/acs/token", headers=headers)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["user"] == second.json()["user"]
    assert acs_double.identities_created == 1 and acs_double.rejected_requests == 0
    assert (await client.post("/api/acs/token", json={"scopes": ["pstn"]}, headers=headers)).status_code == 400


async def test_speech_token_over_http_is_cached_by_the_instance(db, client, speech_double, unique_ip):
    speech_double.reset()
    headers = {**auth_headers(await member(db)), "x-forwarded-for": unique_ip}
    answers = [
        await client.get("/api/azure/speech-token", headers=headers),
        await client.post("/api/azure/speech-token", headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["token"] == answers[1].json()["token"] == speech_double.issued_tokens[0]
    assert speech_double.tokens_issued == 1
    assert (await client.get("/api/azure/speech-token")).status_code == 401


async def test_event_grid_runtime_endpoint_drives_the_trigger(db, client):
    seeded, call = await linked_interview(db)
    handshake = await client.post(
        EVENTGRID, content=json.dumps([validation_event("abc")]), headers={"aeg-event-type": "SubscriptionValidation"}
    )
    assert handshake.json() == {"validationResponse": "abc"}
    started = grid_event("CallStarted", call_data(call), at=T0)
    for _ in range(5):  # redelivery
        assert (await client.post(EVENTGRID, **grid_delivery([started]))).status_code == 202
    assert (await interview_row(db, seeded.interview_id))["status"] == "in_progress"
    # A malformed event is acknowledged (retrying cannot fix it); a late CallStarted changes nothing.
    ended = grid_event("CallEnded", call_data(call, durationOfCall=300), at=T0 + timedelta(minutes=5))
    late = grid_event("CallStarted", call_data(call), at=T0 + timedelta(minutes=6))
    bad = grid_event("CallEnded", {"durationOfCall": 1})
    assert (await client.post(EVENTGRID, **grid_delivery([ended, bad, late]))).status_code == 202
    row = await interview_row(db, seeded.interview_id)
    assert (row["status"], row["duration_seconds"], row["started_at"]) == ("completed", 300, T0)


async def test_call_ended_starts_the_scoring_orchestration_in_the_host(db, client):
    from shared.scoring.service import instance_id_for

    seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
    ended = grid_event("CallEnded", call_data(call, callDurationInSeconds=60), at=T0 + timedelta(minutes=1))
    assert (await client.post(EVENTGRID, **grid_delivery([ended]))).status_code == 202
    status = await client.get(f"/runtime/webhooks/durabletask/instances/{instance_id_for(seeded.interview_id)}")
    assert status.status_code != 404 and status.json()["name"]


async def test_webhook_over_http(db, client):
    seeded, call = await linked_interview(db, status="completed")
    handshake = await client.post("/api/acs/webhook", json=[validation_event("v-1")])
    assert handshake.json() == {"validationResponse": "v-1"}
    options = await client.options("/api/acs/webhook", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert options.status_code == 200 and options.headers["webhook-allowed-origin"] == "eventgrid.azure.net"

    recording = grid_event(
        "RecordingFileStatusUpdated",
        recording_data([chunk(0), chunk(1)]),
        subject=recording_subject(call["serverCallId"]),
    )
    refused = await client.post("/api/acs/webhook", json=[recording])
    assert refused.status_code == 401
    assert (await interview_row(db, seeded.interview_id))["recording_url"] is None

    oversized = await client.post(
        "/api/acs/webhook",
        content=b"[" + b" " * (2 * 1024 * 1024) + b"]",
        headers={"content-type": "application/json", "x-acs-webhook-secret": WEBHOOK_SECRET},
    )
    assert oversized.status_code == 413
    in_query = await client.post("/api/acs/webhook", params={"secret": WEBHOOK_SECRET}, json=[recording])
    assert in_query.status_code == 401  # ?secret= only during a migration window (ACS_WEBHOOK_SECRET_IN_QUERY)

    accepted = await client.post(
        "/api/acs/webhook", json=[recording, {"id": "broken"}], headers={"x-acs-webhook-secret": WEBHOOK_SECRET}
    )
    assert accepted.status_code == 200
    assert accepted.json()["processed"] == 1 and [f["id"] for f in accepted.json()["failed"]] == ["broken"]
    row = await interview_row(db, seeded.interview_id)
    assert len(row["metadata"]["recordings"]) == 2 and row["recording_url"].startswith("https://")
