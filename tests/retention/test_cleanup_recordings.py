"""cleanup_recordings against Azurite and the real database."""

import asyncio

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.platform.errors import NotConfigured, NotFound
from shared.retention import recordings as retention
from shared.retention.recordings import cleanup_recordings
from tests.retention.seed import (
    OTHER_CONTAINER,
    audit_entries,
    existing_blobs,
    interview,
    never_ended,
    org_with_retention,
    recorded_interview,
)


def assert_cleared(row):
    assert row["recording_deleted_at"] is not None and row["recording_url"] is None
    for chunk in row["metadata"]["recordings"]:
        assert not {"contentLocation", "metadataLocation", "deleteLocation"} & set(chunk)
        assert chunk["documentId"]  # what identifies the chunk stays


def assert_untouched(row):
    assert row["recording_deleted_at"] is None and row["recording_url"] is not None
    assert all("contentLocation" in chunk for chunk in row["metadata"]["recordings"])


async def test_recordings_past_retention_are_deleted_and_recent_ones_kept(db, store, blob_service):
    org = await org_with_retention(db, None, name="Default Retention Co")  # null means 60 days
    old = await recorded_interview(db, blob_service, org, ended_days_ago=61)
    recent = await recorded_interview(db, blob_service, org, ended_days_ago=59)

    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)

    assert result.totalDeleted == 1
    assert [(r.organisation, r.retentionDays, r.interviewsProcessed) for r in result.organisationResults] == [
        ("Default Retention Co", 60, 1)
    ]
    assert await existing_blobs(blob_service, old.blobs) == set()
    assert await existing_blobs(blob_service, recent.blobs) == set(recent.blobs)
    old_row = await interview(db, old.interview_id)
    assert_cleared(old_row)
    assert old_row["metadata"]["serverCallId"] == f"call-{old.interview_id}"  # the rest of the metadata stays
    assert_untouched(await interview(db, recent.interview_id))
    [entry] = await audit_entries(db, old.interview_id, "interview.recording_deleted")
    assert entry["organisation_id"] == org and entry["user_id"] is None
    assert entry["new_values"] == {"reason": "retention", "retentionDays": 60, "blobsDeleted": 4}
    assert await audit_entries(db, recent.interview_id) == []


async def test_each_organisation_has_its_own_retention_period(db, store, blob_service):
    short = await org_with_retention(db, 7, name="Short Co")
    long = await org_with_retention(db, 365, name="Long Co")
    short_due = await recorded_interview(db, blob_service, short, ended_days_ago=8)
    long_kept = await recorded_interview(db, blob_service, long, ended_days_ago=100)
    long_due = await recorded_interview(db, blob_service, long, ended_days_ago=366)

    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER)  # every organisation

    by_name = {r.organisation: r for r in result.organisationResults}
    assert (by_name["Short Co"].retentionDays, by_name["Short Co"].interviewsProcessed) == (7, 1)
    assert (by_name["Long Co"].retentionDays, by_name["Long Co"].interviewsProcessed) == (365, 1)
    assert result.totalDeleted >= 2
    assert_cleared(await interview(db, short_due.interview_id))
    assert_cleared(await interview(db, long_due.interview_id))
    assert_untouched(await interview(db, long_kept.interview_id))
    assert await existing_blobs(blob_service, long_kept.blobs) == set(long_kept.blobs)


@pytest.mark.parametrize(
    "status, created_days_ago, started_days_ago, due",
    [
        ("cancelled", 61, None, True),  # never started: counted from its creation
        ("cancelled", 59, None, False),
        ("expired", 61, None, True),
        ("in_progress", 90, 61, True),  # CallEnded missed: counted from its start
        ("in_progress", 90, 59, False),  # created long before, started within retention
    ],
)
async def test_an_interview_without_an_end_counts_from_its_start_or_creation(
    db, store, blob_service, status, created_days_ago, started_days_ago, due
):
    org = await org_with_retention(db, None)  # 60 days
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=0)
    await never_ended(db, recorded, status=status, created_days_ago=created_days_ago, started_days_ago=started_days_ago)

    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)

    assert result.totalDeleted == int(due)
    if due:
        assert_cleared(await interview(db, recorded.interview_id))
        assert await existing_blobs(blob_service, recorded.blobs) == set()
    else:
        assert_untouched(await interview(db, recorded.interview_id))
        assert await existing_blobs(blob_service, recorded.blobs) == set(recorded.blobs)


async def test_blobs_already_gone_count_as_deleted(db, store, blob_service):
    org = await org_with_retention(db, 30)
    gone = await recorded_interview(db, blob_service, org, ended_days_ago=31, upload=False)
    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
    assert result.totalDeleted == 1
    assert_cleared(await interview(db, gone.interview_id))


async def test_a_failed_delete_leaves_that_interview_for_the_next_run(db, store, blob_service):
    org = await org_with_retention(db, 30)
    blocked = await recorded_interview(db, blob_service, org, ended_days_ago=40)
    fine = await recorded_interview(db, blob_service, org, ended_days_ago=40)
    # A real refusal: a blob under an active lease cannot be deleted without the lease id (412).
    lease = await blob_service.get_container_client("recordings").get_blob_client(blocked.blobs[1]).acquire_lease(-1)

    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)

    assert result.totalDeleted == 1
    assert_cleared(await interview(db, fine.interview_id))
    assert_untouched(await interview(db, blocked.interview_id))
    assert await audit_entries(db, blocked.interview_id) == []
    assert await existing_blobs(blob_service, blocked.blobs) == {blocked.blobs[1]}  # the others are gone already

    await lease.release()
    again = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
    assert again.totalDeleted == 1
    assert_cleared(await interview(db, blocked.interview_id))
    assert await existing_blobs(blob_service, blocked.blobs) == set()


# What docs/RETENTION.md tells an operator to run once the file is deleted where it lives.
RESOLVE_UNMANAGED = """
update public.interviews i
   set recording_deleted_at = now(), recording_url = null, updated_at = now(),
       metadata = jsonb_set(i.metadata, '{recordings}', coalesce(
         (select jsonb_agg(e - 'contentLocation' - 'metadataLocation' - 'deleteLocation')
            from jsonb_array_elements(i.metadata -> 'recordings') e), '[]'::jsonb))
 where i.id = %s"""


async def test_urls_outside_our_container_are_reported_on_every_run_never_deleted_nor_marked(db, store, blob_service):
    other = blob_service.get_container_client(OTHER_CONTAINER)
    for name in ("victim", "traversed"):
        await other.upload_blob(name, b"not ours", overwrite=True)
    account = other.url.rsplit("/", 1)[0]  # http://127.0.0.1:<port>/devstoreaccount1
    foreign = [
        other.get_blob_client("victim").url,  # our account, another container
        f"{account}/recordings/../{OTHER_CONTAINER}/traversed",  # climbs out of our container
        f"{account}/recordings/%2e%2e/{OTHER_CONTAINER}/traversed",
        "https://evil.example/devstoreaccount1/recordings/x?sig=secret",
    ]
    org = await org_with_retention(db, 30, name="Mixed Co")
    mixed = await recorded_interview(db, blob_service, org, ended_days_ago=31, extra_locations=foreign)
    elsewhere = await recorded_interview(
        db, blob_service, org, ended_days_ago=31, chunks=0, extra_locations=["https://elsewhere.example/rec.mp4"]
    )

    def summary(result):
        return [(r.organisation, r.interviewsProcessed, r.unmanagedRecordings) for r in result.organisationResults]

    dry = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org, dry_run=True)
    assert (dry.totalDeleted, summary(dry)) == (0, [("Mixed Co", 0, 2)])

    for run in (1, 2):  # reported again on every run, and nothing is claimed deleted
        result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
        assert (result.totalDeleted, summary(result)) == (0, [("Mixed Co", 0, 2)])
        assert await existing_blobs(blob_service, ["victim", "traversed"], OTHER_CONTAINER) == {"victim", "traversed"}
        assert await existing_blobs(blob_service, mixed.blobs) == set()  # our own blobs are deleted
        row = await interview(db, mixed.interview_id)
        assert row["recording_deleted_at"] is None and row["recording_url"] is None  # it named our blob
        ours, theirs = row["metadata"]["recordings"][:2], row["metadata"]["recordings"][2:]
        assert all(not {"contentLocation", "metadataLocation", "deleteLocation"} & set(c) for c in ours)
        assert [c["contentLocation"] for c in theirs] == foreign  # still recorded, so still reported
        untouched = await interview(db, elsewhere.interview_id)
        assert untouched["recording_deleted_at"] is None
        assert untouched["recording_url"] == "https://elsewhere.example/rec.mp4"
        assert await audit_entries(db, mixed.interview_id, "interview.recording_deleted") == []
        entries = await audit_entries(db, mixed.interview_id, "interview.recording_not_deleted")
        assert len(entries) == run
        reported = entries[-1]["new_values"]["unmanagedUrls"]
        assert len(reported) == 4 and "https://evil.example/devstoreaccount1/recordings/x" in reported
        assert not any("secret" in url for url in reported)  # query strings (SAS tokens) are not kept
        assert entries[-1]["new_values"]["blobsDeleted"] == (4 if run == 1 else 0)  # ours were cleared in run 1
        assert len(await audit_entries(db, elsewhere.interview_id, "interview.recording_not_deleted")) == run

    # Resolved as docs/RETENTION.md says: the files deleted where they live, then the row.
    for recorded in (mixed, elsewhere):
        await db.execute(RESOLVE_UNMANAGED, (recorded.interview_id,))
    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
    assert (result.totalDeleted, summary(result)) == (0, [("Mixed Co", 0, 0)])
    assert len(await audit_entries(db, mixed.interview_id, "interview.recording_not_deleted")) == 2
    assert_cleared(await interview(db, mixed.interview_id))


async def test_dry_run_reports_and_changes_nothing(db, store, blob_service):
    org = await org_with_retention(db, 10, name="Dry Co")
    due = await recorded_interview(db, blob_service, org, ended_days_ago=11)
    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org, dry_run=True)
    assert result.totalDeleted == 1 and result.organisationResults[0].interviewsProcessed == 1
    assert_untouched(await interview(db, due.interview_id))
    assert await existing_blobs(blob_service, due.blobs) == set(due.blobs)
    assert await audit_entries(db, due.interview_id) == []


async def test_an_organisation_with_nothing_due_is_still_reported_when_named(db, store):
    org = await org_with_retention(db, 90, name="Quiet Co")
    result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
    assert result.totalDeleted == 0
    assert [(r.organisation, r.retentionDays, r.interviewsProcessed) for r in result.organisationResults] == [
        ("Quiet Co", 90, 0)
    ]


async def test_unknown_organisation_and_missing_storage(db, store):
    import uuid

    with pytest.raises(NotFound):
        await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=uuid.uuid4())
    with pytest.raises(NotConfigured):
        await cleanup_recordings(db, None, caller=SERVICE_CALLER)


async def test_two_runs_at_once_process_each_interview_once(db, store, blob_service, monkeypatch):
    monkeypatch.setattr(retention, "PAGE_SIZE", 3)  # many small pages, so the runs interleave
    org = await org_with_retention(db, 30, name="Busy Co")
    due = [await recorded_interview(db, blob_service, org, ended_days_ago=31, chunks=1) for _ in range(24)]

    first, second = await asyncio.gather(
        cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org),
        cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org),
    )

    assert first.totalDeleted + second.totalDeleted == 24
    assert first.totalDeleted > 0 and second.totalDeleted > 0  # both really worked, side by side
    for recorded in due:
        assert len(await audit_entries(db, recorded.interview_id, "interview.recording_deleted")) == 1
        assert_cleared(await interview(db, recorded.interview_id))
