"""An ACS event storm through the local host: 1,000 deliveries of call,
participant and recording events for 100 interviews, 20% of them duplicates,
shuffled (a CallEnded may come before its CallStarted, a duplicate before its
original), sent side by side through both entry points, the webhook and the
Event Grid trigger, in batches, as Event Grid would: a batch that is not
acknowledged is delivered again.

Ends in the right state, whatever the order: every interview completed once,
with its times and duration, each participant and each recording chunk listed
once, one processed-event row per distinct event, nothing failed for good,
and the same host process still serving."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.calls.conftest import (
    WEBHOOK_SECRET,
    call_data,
    chunk,
    grid_event,
    new_call,
    recording_data,
    recording_subject,
)
from tests.support import create_user

INTERVIEWS = 100
DELIVERIES = 1_000  # 800 distinct events (8 an interview) and 200 duplicates
DUPLICATES = 200
SENDERS = 16  # deliveries in flight at once
MAX_BATCH = 8
MAX_ATTEMPTS = 20  # per batch, as Event Grid retries; far more than needed
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CALL = timedelta(minutes=30)
EVENTGRID = "/runtime/webhooks/eventgrid?functionName=acs_events"
# Acknowledged, or retryable and never a crash page: the webhook asks for redelivery with 503;
# the Event Grid trigger raises on a temporary failure, which the host answers with 500
# (devhost/server.py, as the Functions host does).
ANSWERS = {"webhook": {200, 503}, "eventgrid": {202, 500}}


@pytest.fixture(scope="module")
def host(devhosts):
    return devhosts.start({"ACS_WEBHOOK_SECRET": WEBHOOK_SECRET, "AUTO_SCORE_ON_CALL_END": "false"})


@pytest.fixture
async def interviews(db):
    """INTERVIEWS scheduled interviews, each linked to its call; removed afterwards."""
    org = (await db.fetch_one("insert into organisations (name) values ('Storm Co') returning id"))["id"]
    role = (
        await db.fetch_one(
            "insert into job_roles (organisation_id, title) values (%s, 'Engineer') returning id", (org,)
        )
    )["id"]
    users, seeded = [], []
    for _ in range(INTERVIEWS):
        user = await create_user(db)
        application = (
            await db.fetch_one(
                "insert into applications (job_role_id, candidate_id) values (%s, %s) returning id", (role, user)
            )
        )["id"]
        call = new_call()
        interview = (
            await db.fetch_one(
                "insert into interviews (application_id, status, metadata) values (%s, 'scheduled', %s::jsonb) "
                "returning id",
                (application, json.dumps(call)),
            )
        )["id"]
        users.append(user)
        seeded.append((interview, call))
    yield seeded
    await db.execute("delete from app.processed_events where interview_id = any(%s)", ([i for i, _ in seeded],))
    await db.execute("delete from auth.users where id = any(%s)", (users,))  # cascades to the interviews
    await db.execute("delete from organisations where id = %s", (org,))


def call_events(call: dict) -> tuple[list[dict], dict]:
    """The 8 events of one call, and what they should leave behind."""
    ended = T0 + CALL
    people = [
        ("8:acs:candidate_" + uuid.uuid4().hex, "Casey Candidate"),
        ("8:acs:recruiter_" + uuid.uuid4().hex, "Robin Recruiter"),
    ]
    chunks = [chunk(0), chunk(1)]
    subject = recording_subject(call["serverCallId"])
    events = [
        grid_event("CallStarted", call_data(call), at=T0),
        grid_event("CallEnded", call_data(call, durationOfCall=CALL.total_seconds()), at=ended),
    ]
    for n, (raw_id, name) in enumerate(people):
        data = call_data(
            call, user={"communicationIdentifier": {"rawId": raw_id}}, displayName=name, participantId=f"p-{n}"
        )
        events += [
            grid_event("CallParticipantAdded", data, at=T0 + timedelta(seconds=n + 1)),
            grid_event("CallParticipantRemoved", data, at=ended - timedelta(seconds=n + 1)),
        ]
    for n, piece in enumerate(chunks):
        events.append(
            grid_event(
                "RecordingFileStatusUpdated",
                recording_data([piece]),
                subject=subject,
                at=ended + timedelta(seconds=n + 1),
            )
        )
    expected = {
        "participants": {
            f"p-{n}": (raw_id, T0 + timedelta(seconds=n + 1), ended - timedelta(seconds=n + 1))
            for n, (raw_id, _) in enumerate(people)
        },
        "documents": {piece["documentId"]: piece["contentLocation"] for piece in chunks},
        "last_event": ended + timedelta(seconds=len(chunks)),
    }
    return events, expected


class Sender:
    """Delivers batches like Event Grid: again, after a pause, until acknowledged."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.answers: Counter = Counter()
        self.redelivered = 0

    async def deliver(self, path: str, batch: list[dict]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            if path == "webhook":
                response = await self.client.post(
                    "/api/acs/webhook", json=batch, headers={"x-acs-webhook-secret": WEBHOOK_SECRET}
                )
                acknowledged = response.status_code == 200
                if acknowledged:
                    assert "failed" not in response.json(), response.text  # nothing rejected as malformed
            else:
                response = await self.client.post(
                    EVENTGRID,
                    content=json.dumps(batch),
                    headers={"aeg-event-type": "Notification", "content-type": "application/json"},
                )
                acknowledged = response.status_code == 202
            self.answers[(path, response.status_code)] += 1
            assert response.status_code in ANSWERS[path], response.text
            if acknowledged:
                return
            self.redelivered += 1
            await asyncio.sleep(min(0.1 * 2**attempt, 2))
        raise AssertionError(f"a batch was never acknowledged: {self.answers}")


async def test_an_event_storm_ends_in_the_right_states(db, host, interviews):
    rng = random.Random(20261130)
    distinct, expected = [], {}
    for interview_id, call in interviews:
        events, expected[interview_id] = call_events(call)
        distinct += events
    deliveries = distinct + rng.sample(distinct, DUPLICATES)  # the same ids again, as redeliveries carry
    assert len(distinct) == DELIVERIES - DUPLICATES and len(deliveries) == DELIVERIES
    rng.shuffle(deliveries)
    batches, start = [], 0
    while start < len(deliveries):
        size = rng.randint(1, MAX_BATCH)
        batches.append((rng.choice(["webhook", "eventgrid"]), deliveries[start : start + size]))
        start += size

    async with httpx.AsyncClient(base_url=host, timeout=60) as client:
        sender = Sender(client)
        queue: asyncio.Queue = asyncio.Queue()
        for batch in batches:
            queue.put_nowait(batch)

        async def work() -> None:
            while not queue.empty():
                await sender.deliver(*queue.get_nowait())

        await asyncio.wait_for(asyncio.gather(*(work() for _ in range(SENDERS))), 300)
        assert (await client.get("/api/health")).status_code == 200  # the same process, still serving

    ids = [interview_id for interview_id, _ in interviews]
    processed = await db.fetch_all(
        "select event_id, event_type, interview_id from app.processed_events where interview_id = any(%s)", (ids,)
    )
    assert sorted(row["event_id"] for row in processed) == sorted(event["id"] for event in distinct)  # once each
    per_interview = Counter((row["interview_id"], row["event_type"].rsplit(".", 1)[-1]) for row in processed)
    for interview_id in ids:
        assert per_interview[(interview_id, "CallEnded")] == 1  # completed once
        assert per_interview[(interview_id, "RecordingFileStatusUpdated")] == 2

    rows = await db.fetch_all(
        "select id, status::text as status, started_at, ended_at, duration_seconds, recording_url, metadata "
        "from interviews where id = any(%s)",
        (ids,),
    )
    assert len(rows) == INTERVIEWS
    for row in rows:
        want = expected[row["id"]]
        assert (row["status"], row["started_at"], row["ended_at"], row["duration_seconds"]) == (
            "completed",
            T0,
            T0 + CALL,
            CALL.total_seconds(),
        )
        participants = row["metadata"]["participants"]
        assert len(participants) == len(want["participants"])  # each listed once
        assert {
            p["participantId"]: (p["rawId"], datetime.fromisoformat(p["joinedAt"]), datetime.fromisoformat(p["leftAt"]))
            for p in participants
        } == want["participants"]
        recordings = row["metadata"]["recordings"]
        assert sorted(r["documentId"] for r in recordings) == sorted(want["documents"])  # each chunk once
        assert row["recording_url"] in want["documents"].values()  # the first chunk to arrive names it
        assert datetime.fromisoformat(row["metadata"]["lastEventAt"]) == want["last_event"]


def test_a_join_delivered_after_later_events_is_kept():
    """What the storm found: ParticipantAdded arriving after the same participant's
    ParticipantRemoved and a later event lost its join time."""
    from shared.calls.envelopes import event_from_envelope, parse_event_data
    from shared.calls.rules import plan_change

    call = new_call()
    data = call_data(call, user={"communicationIdentifier": {"rawId": "8:acs:late"}}, participantId="p-0")
    interview = {
        "id": uuid.uuid4(),
        "status": "completed",
        "started_at": T0,
        "ended_at": T0 + CALL,
        "duration_seconds": 1800,
        "recording_url": None,
        "recording_deleted_at": None,
    }
    stored = json.dumps(call)  # the column: only what plan_change says to write is kept
    for raw in (
        grid_event("CallParticipantRemoved", data, at=T0 + CALL),
        grid_event("CallEnded", call_data(call), at=T0 + CALL + timedelta(seconds=5)),
        grid_event("CallParticipantAdded", data, at=T0),
    ):
        event = event_from_envelope(raw)
        columns, _ = plan_change(event, parse_event_data(event), {**interview, "metadata": json.loads(stored)}, T0)
        if "metadata" in columns:
            stored = json.dumps(columns["metadata"])
    [entry] = json.loads(stored)["participants"]
    assert (entry["joinedAt"], entry["leftAt"]) == (T0.isoformat(), (T0 + CALL).isoformat())
