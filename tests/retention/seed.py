"""Rows and blobs for retention tests: interviews whose recordings are real
blobs in Azurite, organisations with their retention periods."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from shared.calls.recording_metadata import new_entry
from tests.ai.seed import create_application, create_org, create_role

CONTAINER = "recordings"
OTHER_CONTAINER = "not-recordings"  # same account, another container: never ours to delete
CV_BUCKET = "cvs"  # the CV bucket (Supabase double) or container (Azurite)
ACS_DELETE = "https://us-storage.asm.skype.com/v1/objects/{}"  # an ACS API URL, as ACS reports deleteLocation


@dataclass
class Recorded:
    interview_id: uuid.UUID
    application_id: uuid.UUID
    candidate_id: uuid.UUID
    blobs: list[str] = field(default_factory=list)  # names in the recordings container


async def recorded_interview(
    db,
    blob_service,
    org_id,
    *,
    ended_days_ago: float,
    chunks: int = 2,
    candidate=None,
    role_id=None,
    upload: bool = True,
    extra_locations: list[str] = (),
) -> Recorded:
    """An interview that ended `ended_days_ago` days ago, whose recording is `chunks`
    ACS chunks (a content and a metadata blob each) in the recordings container,
    recorded in its metadata as the ACS events handler records them (new_entry)."""
    role_id = role_id or await create_role(db, org_id, title="Engineer")
    application_id, candidate = await create_application(db, role_id, candidate)
    interview_id = uuid.uuid4()
    server_call_id = f"call-{interview_id}"
    container = blob_service.get_container_client(CONTAINER)
    recordings, blobs = [], []

    def entry(document: str, index: int, content_url: str, metadata_url: str | None, delete_url: str | None) -> dict:
        return new_entry(
            document_id=document,
            index=index,
            end_reason="SessionEnded",
            content_location=content_url,
            metadata_location=metadata_url,
            delete_location=delete_url,
            server_call_id=server_call_id,
            start_time="2026-11-20T09:00:00Z",
            duration_ms=1_800_000,
            content_type="Audio",
            format_type="Wav",
        )

    for index in range(chunks):
        document = uuid.uuid4().hex
        content, meta = f"{interview_id}/{document}/content.mp4", f"{interview_id}/{document}/metadata.json"
        if upload:
            await container.upload_blob(content, b"\x00\x00\x00\x18ftypmp42")
            await container.upload_blob(meta, b'{"chunk": %d}' % index)
        blobs += [content, meta]
        content_url, meta_url = container.get_blob_client(content).url, container.get_blob_client(meta).url
        recordings.append(entry(document, index, content_url, meta_url, ACS_DELETE.format(document)))
    for index, url in enumerate(extra_locations, start=chunks):
        recordings.append(entry(uuid.uuid4().hex, index, url, None, None))
    metadata = {"serverCallId": server_call_id, "recordings": recordings}
    await db.execute(
        """insert into interviews (id, application_id, status, started_at, ended_at, recording_url, metadata)
           values (%s, %s, 'completed', now() - make_interval(secs => %s * 86400 + 1800),
                   now() - make_interval(secs => %s * 86400), %s, %s::jsonb)""",
        (
            interview_id,
            application_id,
            ended_days_ago,
            ended_days_ago,
            recordings[0]["contentLocation"] if recordings else None,
            json.dumps(metadata),
        ),
    )
    return Recorded(interview_id, application_id, candidate, blobs)


async def never_ended(
    db, recorded: Recorded, *, status: str, created_days_ago: float, started_days_ago: float | None = None
) -> None:
    """Make it an interview CallEnded never reached (cancelled, expired, or the event
    missed): no ended_at, created (and, if given, started) that many days ago."""
    await db.execute(
        """update interviews
              set status = %s::interview_status, ended_at = null,
                  started_at = now() - make_interval(secs => %s::float8 * 86400),
                  created_at = now() - make_interval(secs => %s::float8 * 86400)
            where id = %s""",
        (status, started_days_ago, created_days_ago, recorded.interview_id),
    )


async def org_with_retention(db, days: int | None, member=None, role="admin", name="Retention Co") -> uuid.UUID:
    org_id = await create_org(db, member, role, name=name)
    await db.execute("update organisations set recording_retention_days = %s where id = %s", (days, org_id))
    return org_id


async def existing_blobs(blob_service, names, container: str = CONTAINER) -> set[str]:
    client = blob_service.get_container_client(container)
    return {name for name in names if await client.get_blob_client(name).exists()}


async def interview(db, interview_id) -> dict:
    return await db.fetch_one(
        "select recording_url, recording_deleted_at, metadata from interviews where id = %s", (interview_id,)
    )


async def audit_entries(db, entity_id, action: str | None = None) -> list[dict]:
    return await db.fetch_all(
        "select * from audit_log where entity_id = %s and (%s::text is null or action = %s) order by created_at",
        (entity_id, action, action),
    )
