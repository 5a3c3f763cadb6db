"""The call-event state machine as a pure function (`plan_change`): no database,
no clock but the one given. The database tests prove the SQL around it."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.calls.envelopes import event_from_envelope, parse_event_data
from shared.calls.rules import orphan_blob_names, orphaned_recording, plan_change
from tests.calls.conftest import call_data, chunk, grid_event, new_call, recording_data, recording_subject

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def interview(status="invited", **columns):
    return {
        "id": "i-1",
        "status": status,
        "started_at": None,
        "ended_at": None,
        "duration_seconds": None,
        "recording_url": None,
        "recording_deleted_at": None,
        "metadata": {},
        **columns,
    }


def plan(kind, data, row, at=T0, subject=None):
    event = event_from_envelope(grid_event(kind, data, at=at, subject=subject))
    return plan_change(event, parse_event_data(event), row, now=at)


def test_call_started_moves_an_invited_interview_in_progress_and_names_the_call():
    call = new_call()
    columns, completed = plan("CallStarted", call_data(call), interview())
    assert columns["status"] == "in_progress" and columns["started_at"] == T0 and not completed
    assert columns["metadata"]["serverCallId"] == call["serverCallId"]
    assert columns["metadata"]["lastEventAt"] == T0.isoformat()


def test_call_ended_completes_with_the_duration_the_event_gives():
    row = interview("in_progress", started_at=T0)
    columns, completed = plan(
        "CallEnded", call_data(new_call(), callDurationInSeconds=1800.4), row, at=T0 + timedelta(minutes=31)
    )
    assert completed and columns["status"] == "completed" and columns["duration_seconds"] == 1800


def test_call_ended_without_a_duration_derives_it_and_a_missing_start():
    ended = T0 + timedelta(minutes=20)
    columns, _ = plan("CallEnded", call_data(new_call()), interview("in_progress", started_at=T0), at=ended)
    assert columns["duration_seconds"] == 1200
    columns, _ = plan("CallEnded", call_data(new_call(), durationOfCall=600), interview(), at=ended)
    assert columns["started_at"] == ended - timedelta(seconds=600)


@pytest.mark.parametrize("status", ["completed", "cancelled", "expired"])
def test_a_late_call_started_never_moves_an_interview_backwards(status):
    columns, completed = plan("CallStarted", call_data(new_call()), interview(status, started_at=T0))
    assert "status" not in columns and "started_at" not in columns and not completed


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_final_statuses_are_never_completed_by_a_call_ending(status):
    columns, completed = plan("CallEnded", call_data(new_call(), callDurationInSeconds=60), interview(status))
    assert "status" not in columns and not completed


def test_an_older_event_does_not_move_last_event_at_backwards():
    row = interview("in_progress", metadata={"lastEventAt": (T0 + timedelta(hours=1)).isoformat()})
    columns, _ = plan("CallStarted", call_data(new_call()), row)
    assert "metadata" not in columns or columns["metadata"]["lastEventAt"] == (T0 + timedelta(hours=1)).isoformat()


def test_recordings_are_listed_once_each_and_the_first_becomes_the_recording_url():
    call = new_call()
    first, second = chunk(0), chunk(1)
    subject = recording_subject(call["serverCallId"])
    columns, _ = plan("RecordingFileStatusUpdated", recording_data([second, first]), interview(), subject=subject)
    listed = columns["metadata"]["recordings"]
    assert [r["documentId"] for r in listed] == [first["documentId"], second["documentId"]]
    assert columns["recording_url"] == first["contentLocation"]
    again, _ = plan(
        "RecordingFileStatusUpdated",
        recording_data([first]),
        interview(metadata=columns["metadata"], recording_url=columns["recording_url"]),
        subject=subject,
    )
    assert len(again.get("metadata", columns["metadata"])["recordings"]) == 2 and "recording_url" not in again


def test_a_recording_after_its_deletion_is_not_listed_again():
    row = interview("completed", recording_deleted_at=T0)
    columns, _ = plan(
        "RecordingFileStatusUpdated",
        recording_data([chunk(0)]),
        row,
        subject=recording_subject(new_call()["serverCallId"]),
    )
    assert "recording_url" not in columns and "recordings" not in columns.get("metadata", {})


def recording_event(chunks, subject=None):
    event = event_from_envelope(
        grid_event("RecordingFileStatusUpdated", recording_data(chunks), subject=subject or recording_subject("c"))
    )
    return parse_event_data(event)


def test_a_recording_is_orphaned_when_no_interview_keeps_it():
    data = recording_event([chunk(0)])
    assert orphaned_recording(data, None, call_erased=True)  # its interview was erased
    assert not orphaned_recording(data, None)  # never linked (a reconnect, a bot): a person resolves it
    assert orphaned_recording(data, interview("completed", recording_deleted_at=T0))
    assert not orphaned_recording(data, interview("completed"))
    call = event_from_envelope(grid_event("CallEnded", call_data(new_call())))
    assert not orphaned_recording(parse_event_data(call), None)  # only recordings leave blobs behind


def test_only_orphan_blobs_in_our_container_are_named():
    from shared.adapters.recordings import RecordingStore

    store = RecordingStore("recordings", account_url="https://talentirec.blob.core.windows.net")
    ours = "https://talentirec.blob.core.windows.net/recordings"
    data = recording_event(
        [
            {**chunk(0), "contentLocation": f"{ours}/d0/content.wav", "metadataLocation": f"{ours}/d0/meta.json"},
            {**chunk(1), "contentLocation": f"{ours}/d1/content.wav", "metadataLocation": f"{ours}/d0/meta.json"},
            {**chunk(2), "contentLocation": f"{ours}/../other/victim", "metadataLocation": None},
            {**chunk(3), "contentLocation": "https://talentirec.blob.core.windows.net/other/x"},  # ACS storage beside
        ]
    )
    names, elsewhere = orphan_blob_names(data, store.blob_name)
    assert names == ["d0/content.wav", "d0/meta.json", "d1/content.wav"]  # once each
    assert elsewhere == 3  # traversal, another container, and chunk 3's ACS metadata location
