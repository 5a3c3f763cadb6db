"""ACS events -> interview state, through the service, on a real database, with
payloads in both envelopes and both field variants ACS has used."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.calls.envelopes import EventRejected, event_from_envelope, parse_event_data
from shared.calls.rules import plan_change
from shared.calls.service import (
    CallEvents,
    scoring_starter,
)
from shared.scoring.service import ScoringSettings
from tests.calls.conftest import (
    call_data,
    chunk,
    cloud_event,
    grid_event,
    interview_row,
    link_acs_identity,
    new_call,
    recording_data,
    recording_subject,
    seed_interview,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


SCORING = ScoringSettings(wait_seconds=1, retry_attempts=2, retry_interval_seconds=0.05)


def handler(db, **options) -> CallEvents:
    return CallEvents(db, auto_score=options.pop("auto_score", False), **options)


async def linked_interview(db, status="invited", **columns):
    call = new_call()
    seeded = await seed_interview(db, status=status, metadata=dict(call), **columns)
    return seeded, call


async def deliver(events: CallEvents, raw: dict):
    return await events.handle(event_from_envelope(raw))


async def processed_count(db, event_id) -> int:
    row = await db.fetch_one("select count(*) as n from app.processed_events where event_id = %s", (event_id,))
    return row["n"]


@pytest.mark.parametrize("envelope", [grid_event, cloud_event])
async def test_call_started_moves_the_interview_in_progress(db, envelope):
    seeded, call = await linked_interview(db)
    outcome = await deliver(handler(db), envelope("CallStarted", call_data(call), at=T0))
    assert outcome.result == "applied" and outcome.interview_id == seeded.interview_id
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "in_progress" and row["started_at"] == T0
    assert row["metadata"]["lastEventAt"] == T0.isoformat()
    assert row["metadata"]["serverCallId"] == call["serverCallId"]


async def test_redelivering_an_event_five_times_changes_the_interview_once(db):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call), at=T0)
    events = handler(db)
    outcomes = [await deliver(events, raw) for _ in range(5)]
    assert [o.result for o in outcomes] == ["applied"] + ["duplicate"] * 4
    assert await processed_count(db, raw["id"]) == 1


async def test_concurrent_deliveries_of_one_event_apply_it_once(db, durable):
    seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
    raw = grid_event("CallEnded", call_data(call, callDurationInSeconds=90), at=T0 + timedelta(seconds=90))
    events = handler(db, auto_score=True, start_scoring=scoring_starter(durable_client(durable), SCORING))
    outcomes = await asyncio.gather(*(deliver(events, raw) for _ in range(5)))
    assert sorted(o.result for o in outcomes) == ["applied"] + ["duplicate"] * 4
    assert len(durable.started) == 1  # scoring started once


async def test_call_ended_completes_with_duration_in_either_field(db):
    for field, value in (("callDurationInSeconds", 1234.6), ("durationOfCall", 61)):
        seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
        ended = T0 + timedelta(minutes=20)
        await deliver(handler(db), grid_event("CallEnded", call_data(call, **{field: value}), at=ended))
        row = await interview_row(db, seeded.interview_id)
        assert (row["status"], row["ended_at"], row["started_at"]) == ("completed", ended, T0)
        assert row["duration_seconds"] == round(value)


async def test_call_ended_without_a_duration_uses_the_start_and_without_a_start_derives_it(db):
    seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
    await deliver(handler(db), cloud_event("CallEnded", call_data(call), at=T0 + timedelta(seconds=300)))
    assert (await interview_row(db, seeded.interview_id))["duration_seconds"] == 300
    seeded, call = await linked_interview(db)
    await deliver(handler(db), grid_event("CallEnded", call_data(call, durationOfCall=120), at=T0))
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "completed" and row["started_at"] == T0 - timedelta(seconds=120)


async def test_a_late_call_started_does_not_reopen_a_completed_interview(db):
    seeded, call = await linked_interview(db)
    events = handler(db)
    await deliver(events, grid_event("CallEnded", call_data(call, callDurationInSeconds=600), at=T0))
    before = await interview_row(db, seeded.interview_id)
    outcome = await deliver(events, grid_event("CallStarted", call_data(call), at=T0 - timedelta(minutes=10)))
    after = await interview_row(db, seeded.interview_id)
    assert outcome.result == "applied" and "status" not in outcome.changed
    assert after["status"] == "completed" and after["started_at"] == before["started_at"]
    assert after["metadata"]["lastEventAt"] == T0.isoformat()  # never moves back either


@pytest.mark.parametrize("status", ["cancelled", "expired"])
async def test_final_statuses_stay(db, status):
    seeded, call = await linked_interview(db, status=status)
    events = handler(db, auto_score=True)
    await deliver(events, grid_event("CallStarted", call_data(call), at=T0))
    outcome = await deliver(events, grid_event("CallEnded", call_data(call, durationOfCall=5), at=T0))
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == status and row["started_at"] is None and row["ended_at"] is None
    assert not outcome.scoring_started


async def test_scheduled_moves_forward_and_in_progress_stays(db):
    seeded, call = await linked_interview(db, status="scheduled")
    events = handler(db)
    await deliver(events, grid_event("CallStarted", call_data(call), at=T0))
    second = await deliver(events, grid_event("CallStarted", call_data(call), at=T0 + timedelta(minutes=1)))
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "in_progress" and row["started_at"] == T0 and "started_at" not in second.changed


async def test_correlation_id_alone_finds_the_interview(db):
    seeded, call = await linked_interview(db)
    only_correlation = {"correlationId": call["correlationId"]}
    outcome = await deliver(handler(db), grid_event("CallStarted", call_data(only_correlation), at=T0))
    assert outcome.interview_id == seeded.interview_id


async def test_an_unknown_call_is_acknowledged_and_writes_nothing(db):
    raw = grid_event("CallStarted", call_data(new_call()))
    outcome = await deliver(handler(db), raw)
    assert outcome.result == "unknown_interview" and await processed_count(db, raw["id"]) == 0


@pytest.mark.parametrize("who, wrapped", [("candidate", True), ("recruiter", False)])
async def test_a_group_call_named_after_the_interview_links_itself(db, who, wrapped):
    seeded = await seed_interview(db)
    starter = await link_acs_identity(db, seeded.candidate_id if who == "candidate" else seeded.recruiter_id)
    call = new_call()
    data = call_data(call, group_id=seeded.interview_id, started_by=starter, wrapped=wrapped)
    events = handler(db)
    assert (await deliver(events, grid_event("CallStarted", data, at=T0))).result == "applied"
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "in_progress"
    assert (row["metadata"]["serverCallId"], row["metadata"]["correlationId"]) == (
        call["serverCallId"],
        call["correlationId"],
    )
    # Later events (a recording names only the server call) find it through the stored ids.
    recording = grid_event(
        "RecordingFileStatusUpdated", recording_data([chunk(0)]), subject=recording_subject(call["serverCallId"])
    )
    assert (await deliver(events, recording)).interview_id == seeded.interview_id


async def test_a_group_call_started_by_an_outsider_does_not_link(db):
    seeded = await seed_interview(db)
    outsider = await link_acs_identity(db, (await seed_interview(db)).candidate_id)
    for started_by in (outsider, "8:acs:never-issued-by-us"):
        data = call_data(new_call(), group_id=seeded.interview_id, started_by=started_by)
        assert (await deliver(handler(db), grid_event("CallStarted", data))).result == "unknown_interview"
    assert (await interview_row(db, seeded.interview_id))["status"] == "invited"


async def test_participants_are_recorded_in_metadata(db):
    seeded, call = await linked_interview(db, status="in_progress")
    events = handler(db)
    left = T0 + timedelta(minutes=30)
    for kind, at, wrapped in (("CallParticipantAdded", T0, True), ("CallParticipantRemoved", left, False)):
        user = {"communicationIdentifier": {"rawId": "8:acs:cand"}} if wrapped else {"rawId": "8:acs:cand"}
        data = call_data(call, user=user, displayName="Casey Candidate", participantId="p-1")
        await deliver(events, grid_event(kind, data, at=at))
    [entry] = (await interview_row(db, seeded.interview_id))["metadata"]["participants"]
    assert entry == {
        "participantId": "p-1",
        "rawId": "8:acs:cand",
        "displayName": "Casey Candidate",
        "joinedAt": T0.isoformat(),
        "leftAt": left.isoformat(),
    }


async def test_recording_chunks_are_all_kept_once_each_and_set_the_recording_url(db):
    seeded, call = await linked_interview(db, status="completed")
    first, second, third = chunk(0), chunk(1), chunk(2)
    events = handler(db)
    subject = recording_subject(call["serverCallId"])
    await deliver(events, grid_event("RecordingFileStatusUpdated", recording_data([second, first]), subject=subject))
    # A second notification repeats a chunk and adds one (a different event id).
    await deliver(events, cloud_event("RecordingFileStatusUpdated", recording_data([second, third]), subject=subject))
    row = await interview_row(db, seeded.interview_id)
    recordings = row["metadata"]["recordings"]
    assert [r["documentId"] for r in recordings] == [first["documentId"], second["documentId"], third["documentId"]]
    for stored, given in zip(recordings, (first, second, third)):
        assert {k: stored[k] for k in ("contentLocation", "metadataLocation", "deleteLocation", "index")} == {
            k: given[k] for k in ("contentLocation", "metadataLocation", "deleteLocation", "index")
        }
        assert stored["serverCallId"] == call["serverCallId"]
    assert row["recording_url"] == first["contentLocation"]


async def test_no_recording_is_stored_after_retention_deleted_it(db):
    seeded, call = await linked_interview(db, status="completed", recording_deleted_at=T0)
    await deliver(
        handler(db),
        grid_event(
            "RecordingFileStatusUpdated", recording_data([chunk(0)]), subject=recording_subject(call["serverCallId"])
        ),
    )
    row = await interview_row(db, seeded.interview_id)
    assert row["recording_url"] is None and "recordings" not in row["metadata"]


async def test_other_event_types_are_only_logged(db):
    outcome = await deliver(handler(db), grid_event("IncomingCall", {"to": {}, "from": {}}))
    assert outcome.result == "ignored"


@pytest.mark.parametrize(
    "raw, message",
    [
        ("not an object", "JSON object"),
        ({"eventType": "Microsoft.Communication.CallStarted", "data": {}, "subject": "s"}, "id"),
        (
            {"id": "1", "subject": "s", "data": {}, "eventTime": "yesterday", "eventType": "X", "dataVersion": "1"},
            "neither",
        ),
        ({"id": "1", "specversion": "1.0", "type": "X"}, "neither"),  # a CloudEvent needs a source
        (grid_event("CallStarted", {"isTwoParty": True}), "serverCallId or correlationId"),
        (grid_event("CallEnded", {**new_call(), "callDurationInSeconds": -1}), "callDurationInSeconds"),
        (
            grid_event("RecordingFileStatusUpdated", recording_data([chunk(0)]), subject="/recording/call/x"),
            "serverCallId",
        ),
        (
            grid_event("RecordingFileStatusUpdated", recording_data([]), subject=recording_subject("s")),
            "recordingChunks",
        ),
        (
            grid_event(
                "RecordingFileStatusUpdated",
                recording_data([{**chunk(0), "deleteLocation": "file:///etc/passwd"}]),
                subject=recording_subject("s"),
            ),
            "deleteLocation",
        ),
        (grid_event("CallStarted", ["not", "an", "object"], subject="call/x"), "must be an object"),
    ],
)
async def test_malformed_events_are_rejected_without_touching_the_database(db, raw, message):
    with pytest.raises(EventRejected, match=message):
        await handler(db).handle(event_from_envelope(raw))


async def test_a_batch_with_one_bad_event_processes_the_others(db):
    seeded, call = await linked_interview(db)
    good = [
        grid_event("CallStarted", call_data(call), at=T0),
        grid_event("CallEnded", call_data(call, durationOfCall=30), at=T0 + timedelta(seconds=30)),
    ]
    bad = grid_event("CallStarted", {"nothing": "useful"})
    result = await handler(db).handle_batch([good[0], bad, good[1]])
    assert result.processed == 2 and not result.retry
    assert result.failed == [{"id": bad["id"], "error": result.failed[0]["error"]}]
    assert (await interview_row(db, seeded.interview_id))["status"] == "completed"


async def test_a_database_outage_is_retried_not_swallowed(db, database_url):
    from shared.platform.db import Database

    seeded, call = await linked_interview(db)
    fragile = Database(database_url, min_size=1, max_size=1)
    pid = (await fragile.fetch_one("select pg_backend_pid() as pid"))["pid"]
    await db.execute("select pg_terminate_backend(%s)", (pid,))
    raw = grid_event("CallStarted", call_data(call))
    result = await handler(fragile).handle_batch([raw])
    assert result.retry and result.processed == 0 and result.failed[0]["id"] == raw["id"]
    await fragile.close()
    assert await processed_count(db, raw["id"]) == 0


# --- auto-scoring on CallEnded ----------------------------------------------------------------


def durable_client(double):
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(double.client_json())


async def test_call_ended_starts_scoring_once_through_the_durable_api(db, durable):
    seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
    events = handler(db, auto_score=True, start_scoring=scoring_starter(durable_client(durable), SCORING))
    outcome = await deliver(events, grid_event("CallEnded", call_data(call, durationOfCall=60), at=T0))
    assert outcome.scoring_started
    [started] = durable.started
    assert started["input"]["interviewId"] == str(seeded.interview_id)
    # A second CallEnded (another event id) finds it completed already: no second run.
    again = await deliver(events, grid_event("CallEnded", call_data(call, durationOfCall=60), at=T0))
    assert not again.scoring_started and len(durable.started) == 1


async def test_auto_scoring_off_starts_nothing(db, durable):
    seeded, call = await linked_interview(db, status="in_progress")
    events = handler(db, auto_score=False, start_scoring=scoring_starter(durable_client(durable), SCORING))
    await deliver(events, grid_event("CallEnded", call_data(call, durationOfCall=60)))
    assert durable.started == [] and durable.requests == []


async def test_a_scoring_failure_never_fails_the_event(db, durable):
    seeded, call = await linked_interview(db, status="in_progress")
    durable.fail_next(500, path="/runtime/webhooks/durabletask/orchestrators")
    events = handler(db, auto_score=True, start_scoring=scoring_starter(durable_client(durable), SCORING))
    raw = grid_event("CallEnded", call_data(call, durationOfCall=60))
    outcome = await deliver(events, raw)
    assert outcome.result == "applied" and not outcome.scoring_started
    assert (await interview_row(db, seeded.interview_id))["status"] == "completed"
    assert await processed_count(db, raw["id"]) == 1


# --- the pure state change --------------------------------------------------------------------


def test_status_never_moves_backwards():
    order = ["invited", "scheduled", "in_progress", "completed", "cancelled", "expired"]
    for status in order:
        interview = {
            "id": uuid.uuid4(),
            "status": status,
            "started_at": None,
            "ended_at": None,
            "duration_seconds": None,
            "recording_url": None,
            "recording_deleted_at": None,
            "metadata": None,
        }
        for kind in ("CallStarted", "CallEnded"):
            event = event_from_envelope(grid_event(kind, call_data(new_call(), durationOfCall=1)))
            columns, _ = plan_change(event, parse_event_data(event), interview, T0)
            new = columns.get("status", status)
            if status in ("cancelled", "expired"):
                assert new == status
            else:
                assert order.index(new) >= order.index(status)
