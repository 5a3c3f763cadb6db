"""Azurite stops in the middle of a retention run and comes back.

A real stop: Azurite (blobs on disk) is shut down while `cleanup_recordings`
has a batch delete in flight, after two pages were committed. The run
stops with the storage error; no interview is marked deleted whose blobs are
still there; every interview it marked is marked once. Azurite is then started
again at the same address with the same blobs, and the next run, in the same
process, finishes the work: every recording gone, every interview marked
once, one audit entry each."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack, asynccontextmanager

import pytest

from devhost.azurite import running_azurite
from devhost.launch import free_port
from shared.platform.auth import SERVICE_CALLER
from shared.platform.errors import UpstreamError
from shared.retention import recordings as retention
from shared.retention.recordings import cleanup_recordings
from tests.ai.seed import create_role
from tests.retention.seed import CONTAINER, existing_blobs, org_with_retention, recorded_interview

INTERVIEWS = 40
PAGE = 4  # ten pages or more
STOP_AT_DELETE = 3  # Azurite stops while the third page's batch is in flight


class StopsAzuriteMidRun:
    """The real store and session; on the Nth batch delete, Azurite is stopped
    at the same time (the test chooses the moment, the SDK and Azurite do the rest)."""

    def __init__(self, store, stop, at: int):
        self.store, self.stop, self.at, self.deletes = store, stop, at, 0

    def blob_name(self, url):
        return self.store.blob_name(url)

    @asynccontextmanager
    async def open(self):
        async with self.store.open() as session:
            yield self._Session(self, session)

    class _Session:
        def __init__(self, outer, session):
            self.outer, self.session = outer, session

        async def delete(self, names):
            self.outer.deletes += 1
            if self.outer.deletes != self.outer.at:
                return await self.session.delete(names)
            deleted, _ = await asyncio.gather(
                self.session.delete(names), asyncio.to_thread(self.outer.stop), return_exceptions=True
            )
            if isinstance(deleted, BaseException):
                raise deleted
            return deleted


async def marked(db, org) -> set:
    rows = await db.fetch_all(
        """select i.id from interviews i join applications a on a.id = i.application_id
             join job_roles r on r.id = a.job_role_id
            where r.organisation_id = %s and i.recording_deleted_at is not null""",
        (org,),
    )
    return {row["id"] for row in rows}


async def deletion_entries(db, interview_ids) -> dict:
    rows = await db.fetch_all(
        """select entity_id, count(*) as n from audit_log
            where action = 'interview.recording_deleted' and entity_id = any(%s) group by entity_id""",
        (list(interview_ids),),
    )
    return {row["entity_id"]: row["n"] for row in rows}


async def test_azurite_stopped_mid_run_marks_nothing_undeleted_and_the_next_run_finishes(db, tmp_path, monkeypatch):
    from azure.storage.blob.aio import BlobServiceClient

    from shared.adapters.recordings import RecordingStore

    monkeypatch.setattr(retention, "PAGE_SIZE", PAGE)
    port, location = free_port(), tmp_path / "azurite"
    azurite = ExitStack()
    connection_string = azurite.enter_context(running_azurite(port=port, location=location))
    org, recorded = None, []
    try:
        async with BlobServiceClient.from_connection_string(connection_string) as service:
            await service.get_container_client(CONTAINER).create_container()
            org = await org_with_retention(db, 30, name="Outage Co")
            role = await create_role(db, org, title="Engineer")
            recorded = [
                await recorded_interview(db, service, org, ended_days_ago=31, chunks=1, role_id=role)
                for _ in range(INTERVIEWS)
            ]
        blobs_of = {r.interview_id: r.blobs for r in recorded}
        store = RecordingStore(CONTAINER, connection_string=connection_string)
        stopping = StopsAzuriteMidRun(store, azurite.close, STOP_AT_DELETE)  # close: SIGTERM, waited for

        with pytest.raises(UpstreamError):
            await asyncio.wait_for(cleanup_recordings(db, stopping, caller=SERVICE_CALLER, organisation_id=org), 120)
        assert stopping.deletes >= STOP_AT_DELETE

        first = await marked(db, org)
        # Stopped mid-run: the pages before it did their work (each had some of ours; other tests'
        # interviews may share a page), and work is left.
        assert STOP_AT_DELETE - 1 <= len(first) < INTERVIEWS
        assert set((await deletion_entries(db, first)).values()) == {1}

        # Back at the same address with the same blobs: nothing marked deleted still has a blob.
        connection_string = azurite.enter_context(running_azurite(port=port, location=location))
        async with BlobServiceClient.from_connection_string(connection_string) as service:
            for interview_id in first:
                assert await existing_blobs(service, blobs_of[interview_id]) == set()
            left = [name for r in recorded if r.interview_id not in first for name in r.blobs]
            assert await existing_blobs(service, left)  # the unmarked ones kept (at least some of) theirs

            again = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)

            assert again.totalDeleted == INTERVIEWS - len(first)
            assert await marked(db, org) == set(blobs_of)
            assert await existing_blobs(service, [name for names in blobs_of.values() for name in names]) == set()
        entries = await deletion_entries(db, blobs_of)
        assert entries == {interview_id: 1 for interview_id in blobs_of}  # nothing lost, nothing twice
    finally:
        azurite.close()
        # Other packages count rows of shared tables: leave none behind.
        await db.execute("delete from auth.users where id = any(%s)", ([r.candidate_id for r in recorded],))
        if org is not None:
            await db.execute("delete from organisations where id = %s", (org,))
