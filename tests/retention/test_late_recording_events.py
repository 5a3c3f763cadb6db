"""A recording event that arrives after its interview's recording was deleted, or
after the interview was erased: ACS has written the chunk into our container all
the same, and the events handler deletes it there (never outside it), against
Azurite and the real database. A call no interview ever named keeps its
recording (it may be a reconnect's, the interview's only one)."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.calls.envelopes import event_from_envelope
from shared.calls.service import CallEvents, OrphanNotDeleted, handle_trigger_event
from shared.platform.auth import SERVICE_CALLER
from shared.retention.deletion_requests import process_deletion_requests
from tests.calls.conftest import grid_event, recording_data, recording_subject
from tests.retention.seed import (
    ACS_DELETE,
    CONTAINER,
    OTHER_CONTAINER,
    audit_entries,
    existing_blobs,
    interview,
    org_with_retention,
    recorded_interview,
)


async def late_chunk(blob_service, container: str = CONTAINER) -> tuple[dict, list[str]]:
    """A chunk ACS has just written into `container`: the event's entry and its two blob names."""
    client = blob_service.get_container_client(container)
    document = uuid.uuid4().hex
    names = [f"late/{document}/content.wav", f"late/{document}/metadata.json"]
    for name in names:
        await client.upload_blob(name, b"RIFF late chunk", overwrite=True)
    entry = {
        "documentId": document,
        "index": 0,
        "endReason": "SessionEnded",
        "contentLocation": client.get_blob_client(names[0]).url,
        "metadataLocation": client.get_blob_client(names[1]).url,
        "deleteLocation": ACS_DELETE.format(document),
    }
    return entry, names


def recording_event(recorded, chunks: list[dict]) -> dict:
    """RecordingFileStatusUpdated for the call seed.recorded_interview linked to the interview."""
    subject = recording_subject(f"call-{recorded.interview_id}")
    return grid_event("RecordingFileStatusUpdated", recording_data(chunks), subject=subject)


async def deliver(db, store, raw: dict):
    return await CallEvents(db, auto_score=False, recordings=store).handle(event_from_envelope(raw))


async def erase(db, store, auth_admin, cv_storage, org, recorded, kind: str) -> None:
    await db.execute(
        "insert into data_deletion_requests (user_id, request_type) values (%s, %s)", (recorded.candidate_id, kind)
    )
    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )
    assert [r.status for r in result.results] == ["completed"]


async def orphan_entries(db, since: datetime) -> list[dict]:
    return await db.fetch_all(
        "select * from audit_log where action = 'recording.orphan_deleted' and created_at >= %s order by created_at",
        (since,),
    )


async def processed(db, event_id: str) -> int:
    return (await db.fetch_one("select count(*) as n from app.processed_events where event_id = %s", (event_id,)))["n"]


@pytest.mark.parametrize("kind", ["anonymize", "full_deletion"])
async def test_a_recording_of_an_erased_interview_is_deleted_from_our_container(
    db, store, blob_service, auth_admin, cv_storage, kind
):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, kind)
    entry, names = await late_chunk(blob_service)
    since = datetime.now(UTC)

    outcome = await deliver(db, store, recording_event(recorded, [entry]))

    # Erasure dropped the call's ids (anonymize) or the row (full deletion): no interview is found.
    assert (outcome.result, outcome.orphan_blobs_deleted) == ("unknown_interview", 2)
    assert await existing_blobs(blob_service, names) == set()
    [audited] = await orphan_entries(db, since)
    assert (audited["entity_type"], audited["entity_id"], audited["organisation_id"]) == ("recording", None, None)
    assert audited["new_values"] == {"why": "interview_erased", "blobsDeleted": 2, "locationsElsewhere": 0}
    kept = json.dumps(audited["new_values"])
    assert entry["documentId"] not in kept and str(recorded.interview_id) not in kept  # counts, no ids
    row = await interview(db, recorded.interview_id)
    assert row is None or (row["recording_url"] is None and entry["documentId"] not in json.dumps(row["metadata"]))


async def test_a_recording_after_its_interviews_recording_was_deleted_is_deleted(
    db, store, blob_service, auth_admin, cv_storage
):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, "recording_only")  # the call's ids stay
    entry, names = await late_chunk(blob_service)
    raw = recording_event(recorded, [entry])

    outcome = await deliver(db, store, raw)

    assert (outcome.result, outcome.interview_id, outcome.orphan_blobs_deleted) == (
        "applied",
        recorded.interview_id,
        2,
    )
    assert await existing_blobs(blob_service, names) == set()
    row = await interview(db, recorded.interview_id)
    assert row["recording_url"] is None and entry["documentId"] not in json.dumps(row["metadata"])
    [audited] = await audit_entries(db, recorded.interview_id, "recording.orphan_deleted")
    assert audited["organisation_id"] == org and audited["user_id"] is None
    assert audited["new_values"] == {"why": "recording_already_deleted", "blobsDeleted": 2, "locationsElsewhere": 0}
    assert (await deliver(db, store, raw)).result == "duplicate"  # once per event id
    assert len(await audit_entries(db, recorded.interview_id, "recording.orphan_deleted")) == 1


async def test_a_recording_of_a_call_no_interview_ever_named_is_kept(db, store, blob_service):
    """A reconnect's second call, or a call whose first event was refused: its recording
    may be the interview's only one, so it is left for a person (logged as unknown)."""
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    entry, names = await late_chunk(blob_service)
    raw = grid_event("RecordingFileStatusUpdated", recording_data([entry]), subject=recording_subject("never-linked"))

    outcome = await deliver(db, store, raw)

    assert (outcome.result, outcome.orphan_blobs_deleted) == ("unknown_interview", 0)
    assert await existing_blobs(blob_service, names) == set(names)
    assert (await interview(db, recorded.interview_id))["recording_deleted_at"] is None


async def test_erased_calls_are_remembered_as_hashes_only_and_forgotten_after_30_days(
    db, store, blob_service, auth_admin, cv_storage
):
    from shared.calls.service import purge_processed_events

    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    call_id = (await interview(db, recorded.interview_id))["metadata"]["serverCallId"]
    await erase(db, store, auth_admin, cv_storage, org, recorded, "full_deletion")
    rows = await db.fetch_all(
        "select call_id_sha256 from app.erased_calls where call_id_sha256 = encode(sha256(convert_to(%s, 'UTF8')), 'hex')",
        (call_id,),
    )
    assert len(rows) == 1 and call_id not in json.dumps([r["call_id_sha256"] for r in rows])
    await db.execute(
        "update app.erased_calls set erased_at = now() - interval '31 days' where call_id_sha256 = %s",
        (rows[0]["call_id_sha256"],),
    )
    await purge_processed_events(db)
    assert (
        await db.fetch_all("select 1 from app.erased_calls where call_id_sha256 = %s", (rows[0]["call_id_sha256"],))
        == []
    )


async def test_only_blobs_in_our_container_are_deleted(db, store, blob_service, auth_admin, cv_storage):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, "full_deletion")
    ours, our_names = await late_chunk(blob_service)
    theirs, their_names = await late_chunk(blob_service, OTHER_CONTAINER)
    account = blob_service.get_container_client(CONTAINER).url.rsplit("/", 1)[0]
    climbing = {
        **theirs,
        "documentId": uuid.uuid4().hex,
        "contentLocation": f"{account}/{CONTAINER}/../{OTHER_CONTAINER}/{their_names[0]}",
        "metadataLocation": f"{account}/{CONTAINER}/%2e%2e/{OTHER_CONTAINER}/{their_names[1]}",
    }

    outcome = await deliver(db, store, recording_event(recorded, [ours, theirs, climbing]))

    assert outcome.orphan_blobs_deleted == 2
    assert await existing_blobs(blob_service, our_names) == set()
    assert await existing_blobs(blob_service, their_names, OTHER_CONTAINER) == set(their_names)


async def test_a_blob_that_cannot_be_deleted_fails_the_event_for_redelivery(
    db, store, blob_service, auth_admin, cv_storage
):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, "recording_only")
    entry, names = await late_chunk(blob_service)
    raw = recording_event(recorded, [entry])
    lease = await blob_service.get_container_client(CONTAINER).get_blob_client(names[0]).acquire_lease(-1)

    with pytest.raises(OrphanNotDeleted):
        await deliver(db, store, raw)

    assert await processed(db, raw["id"]) == 0  # rolled back: the redelivery is not a duplicate
    assert await audit_entries(db, recorded.interview_id, "recording.orphan_deleted") == []
    await lease.release()
    assert (await deliver(db, store, raw)).orphan_blobs_deleted == 2
    assert await existing_blobs(blob_service, names) == set()


async def test_without_recordings_storage_the_event_is_still_acknowledged(
    db, store, blob_service, auth_admin, cv_storage
):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, "full_deletion")
    entry, names = await late_chunk(blob_service)

    outcome = await deliver(db, None, recording_event(recorded, [entry]))

    assert (outcome.result, outcome.orphan_blobs_deleted) == ("unknown_interview", 0)
    assert await existing_blobs(blob_service, names) == set(names)  # nothing to delete it with


async def test_the_event_grid_trigger_finds_the_recordings_storage_in_the_settings(
    db, store, blob_service, azurite, services, monkeypatch, auth_admin, cv_storage
):
    """handle_trigger_event is what blueprints/calls.py's acs_events calls, with the
    process's settings: the recordings container comes from them."""
    import azure.functions as func
    from azure.functions.eventgrid import EventGridEventInConverter

    monkeypatch.setattr(services.settings, "RECORDINGS_STORAGE_CONNECTION_STRING", azurite)
    monkeypatch.setattr(services.settings, "RECORDINGS_CONTAINER", CONTAINER)
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    await erase(db, store, auth_admin, cv_storage, org, recorded, "full_deletion")
    entry, names = await late_chunk(blob_service)
    raw = recording_event(recorded, [entry])
    event = EventGridEventInConverter.decode(func.meta.Datum(json.dumps(raw), "json"), trigger_metadata={})

    outcome = await handle_trigger_event(db, services.settings, event)

    assert outcome is not None and outcome.orphan_blobs_deleted == 2
    assert await existing_blobs(blob_service, names) == set()
