"""Queries for data retention: recordings past their retention period, data
deletion requests, and removing or anonymising a candidate's data.

Where an interview's recordings are recorded (the one place that knows):
`interviews.recording_url`, and `interviews.metadata -> 'recordings'`, a JSON
array with one object per recording chunk as ACS reported it
(RecordingFileStatusUpdated): `documentId`, `contentLocation`,
`metadataLocation`, `deleteLocation`, ...
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.db import fetch_all, fetch_one, jsonb

RECORDINGS_KEY = "recordings"
CHUNK_BLOB_KEYS = ("contentLocation", "metadataLocation")  # blobs in our container
CHUNK_LOCATION_KEYS = (*CHUNK_BLOB_KEYS, "deleteLocation")  # cleared once the recording is gone
DEFAULT_RETENTION_DAYS = 60
FIRST_ID = uuid.UUID(int=0)


def recording_urls(interview: dict) -> list[str]:
    """Every URL at which the interview's recording may be stored."""
    urls = [interview.get("recording_url")]
    chunks = (interview.get("metadata") or {}).get(RECORDINGS_KEY)
    if isinstance(chunks, list):
        urls += [chunk.get(key) for chunk in chunks if isinstance(chunk, dict) for key in CHUNK_BLOB_KEYS]
    return list(dict.fromkeys(url for url in urls if isinstance(url, str) and url))


def metadata_without_locations(metadata: Any) -> Any:
    """The metadata with every chunk's locations removed (documentIds and the rest kept)."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get(RECORDINGS_KEY), list):
        return metadata
    chunks = [{k: v for k, v in chunk.items() if k not in CHUNK_LOCATION_KEYS} if isinstance(chunk, dict) else chunk
              for chunk in metadata[RECORDINGS_KEY]]
    return {**metadata, RECORDINGS_KEY: chunks}


# An interview "still has a recording": its URL, or any chunk with a location.
_HAS_RECORDING = f"""(i.recording_url is not null or exists (
    select 1 from jsonb_array_elements(case when jsonb_typeof(i.metadata -> '{RECORDINGS_KEY}') = 'array'
                                            then i.metadata -> '{RECORDINGS_KEY}' else '[]'::jsonb end) as chunk
     where jsonb_typeof(chunk) = 'object'
       and (chunk ? 'contentLocation' or chunk ? 'metadataLocation' or chunk ? 'deleteLocation')))"""

_INTERVIEW_RECORDING_COLUMNS = "i.id, i.recording_url, i.metadata, r.organisation_id"


# --- Recordings past retention ---------------------------------------------------

async def due_interviews(conn, *, now: datetime, after: uuid.UUID, limit: int, organisation_id=None,
                         lock: bool) -> list[dict]:
    """The next page (by id, after `after`) of interviews whose recordings are
    past their organisation's retention period. With `lock`, the rows stay
    locked until the transaction ends and rows another run holds are skipped,
    so two runs never process the same interview."""
    return await fetch_all(
        conn,
        f"""select {_INTERVIEW_RECORDING_COLUMNS}, o.name as organisation_name,
                   coalesce(o.recording_retention_days, {DEFAULT_RETENTION_DAYS}) as retention_days
              from public.interviews i
              join public.applications a on a.id = i.application_id
              join public.job_roles r on r.id = a.job_role_id
              join public.organisations o on o.id = r.organisation_id
             where i.id > %(after)s
               and i.recording_deleted_at is null
               and i.ended_at < %(now)s::timestamptz
                                - make_interval(days => coalesce(o.recording_retention_days, {DEFAULT_RETENTION_DAYS}))
               and {_HAS_RECORDING}
               and (%(organisation)s::uuid is null or r.organisation_id = %(organisation)s::uuid)
             order by i.id
             limit %(limit)s
             {"for update of i skip locked" if lock else ""}""",
        {"after": after, "now": now, "limit": limit, "organisation": organisation_id},
    )


async def organisation_retention(conn, organisation_id) -> dict | None:
    return await fetch_one(
        conn,
        f"""select id, name, coalesce(recording_retention_days, {DEFAULT_RETENTION_DAYS}) as retention_days
              from public.organisations where id = %s""",
        (organisation_id,),
    )


async def candidate_interviews_with_recordings(conn, user_id) -> list[dict]:
    """The candidate's interviews that still have a recording, row-locked
    (waiting for a cleanup run that holds one, which then no longer matches)."""
    return await fetch_all(
        conn,
        f"""select {_INTERVIEW_RECORDING_COLUMNS}
              from public.interviews i
              join public.applications a on a.id = i.application_id
              join public.job_roles r on r.id = a.job_role_id
             where a.candidate_id = %s and i.recording_deleted_at is null and {_HAS_RECORDING}
             order by i.id
             for update of i""",
        (user_id,),
    )


async def candidate_cv_path(conn, user_id) -> str | None:
    """The candidate's stored CV path, with the profile row locked until the
    transaction ends (the file is deleted, then the row cleared, under that lock)."""
    row = await fetch_one(conn, "select cv_file_path from public.candidate_profiles where user_id = %s for update",
                          (user_id,))
    return row["cv_file_path"] if row else None


async def mark_recordings_deleted(conn, interviews: list[dict]) -> None:
    """Set recording_deleted_at and clear recording_url and the chunk locations."""
    if not interviews:
        return
    ids = [row["id"] for row in interviews]
    metadata = [None if row.get("metadata") is None else jsonb(metadata_without_locations(row["metadata"]))
                for row in interviews]
    await conn.execute(
        """update public.interviews i
              set recording_deleted_at = now(), recording_url = null, metadata = m.metadata, updated_at = now()
             from unnest(%s::uuid[], %s::jsonb[]) as m(id, metadata)
            where i.id = m.id""",
        (ids, metadata),
    )


# --- Data deletion requests -------------------------------------------------------

# A request stuck in 'processing' this long is taken to have been abandoned by a crashed run.
STALE_PROCESSING = "1 hour"

# An organisation's requests: its candidates', and ones it already began (a full
# deletion that failed at its last step has no applications left to tell by).
_REQUEST_IN_ORGANISATION = """(%(organisation)s::uuid is null
    or exists (select 1 from public.applications a join public.job_roles r on r.id = a.job_role_id
                where a.candidate_id = d.user_id and r.organisation_id = %(organisation)s::uuid)
    or exists (select 1 from public.audit_log l
                where l.organisation_id = %(organisation)s::uuid and l.entity_id = d.id
                  and l.entity_type = 'data_deletion_request'))"""

# pending; failed by an earlier run (retried); or abandoned in 'processing'.
_REQUEST_DUE = f"""(d.status = 'pending'
    or (d.status = 'failed' and (d.processed_at is null or d.processed_at < %(run_started)s))
    or (d.status = 'processing' and d.processed_at < now() - interval '{STALE_PROCESSING}'))"""


async def claim_deletion_request(conn, *, run_started: datetime, processed_by: str, organisation_id=None) -> dict | None:
    """Atomically move one due request to 'processing' (processed_at = when it
    was claimed); rows another run is claiming are skipped."""
    return await fetch_one(
        conn,
        f"""update public.data_deletion_requests r
               set status = 'processing', processed_at = now(), processed_by = %(processed_by)s
             where r.id = (select d.id from public.data_deletion_requests d
                            where {_REQUEST_DUE} and {_REQUEST_IN_ORGANISATION}
                            order by d.requested_at, d.id
                            limit 1
                            for update skip locked)
            returning r.id, r.user_id, r.request_type""",
        {"run_started": run_started, "processed_by": processed_by, "organisation": organisation_id},
    )


async def due_deletion_requests(conn, *, run_started: datetime, organisation_id=None) -> list[dict]:
    """What a run would claim (dry runs)."""
    return await fetch_all(
        conn,
        f"""select d.id, d.user_id, d.request_type, d.status from public.data_deletion_requests d
             where {_REQUEST_DUE} and {_REQUEST_IN_ORGANISATION}
             order by d.requested_at, d.id""",
        {"run_started": run_started, "organisation": organisation_id},
    )


async def finish_deletion_request(conn, request_id, *, status: str, notes: str, processed_by: str) -> None:
    """Record the outcome. After a full deletion in production the row may
    already be gone (it cascades from auth.users); that is fine."""
    await conn.execute(
        """update public.data_deletion_requests
              set status = %s, notes = %s, processed_at = now(), processed_by = %s
            where id = %s""",
        (status, notes, processed_by, request_id),
    )


# --- A candidate's data -----------------------------------------------------------

_CANDIDATE_INTERVIEWS = """select i.id from public.interviews i join public.applications a on a.id = i.application_id
                            where a.candidate_id = %(user)s"""

# Children before parents, so the order holds whatever the foreign keys' delete actions are.
_DELETE_CANDIDATE_DATA = (
    ("score_dimensions", f"delete from public.score_dimensions where interview_id in ({_CANDIDATE_INTERVIEWS})"),
    ("interview_scores", f"delete from public.interview_scores where interview_id in ({_CANDIDATE_INTERVIEWS})"),
    ("transcript_segments",
     f"delete from public.transcript_segments where interview_id in ({_CANDIDATE_INTERVIEWS})"),
    ("interviews", f"delete from public.interviews where id in ({_CANDIDATE_INTERVIEWS})"),
    ("invitations", """delete from public.invitations where application_id in
                       (select id from public.applications where candidate_id = %(user)s)"""),
    ("applications", "delete from public.applications where candidate_id = %(user)s"),
    ("candidate_dei", "delete from public.candidate_dei where user_id = %(user)s"),
    ("candidate_skills", "delete from public.candidate_skills where user_id = %(user)s"),
    ("education", "delete from public.education where user_id = %(user)s"),
    ("employment_history", "delete from public.employment_history where user_id = %(user)s"),
    ("practice_interviews", "delete from public.practice_interviews where user_id = %(user)s"),
    ("candidate_profiles", "delete from public.candidate_profiles where user_id = %(user)s"),
)

# Anonymising keeps the scores and what aggregates are built from (skills, the
# numeric scores, statuses) and removes what identifies or describes the person.
_ANONYMISE_CANDIDATE = (
    ("candidate_profiles", """update public.candidate_profiles
                                 set first_name = 'Anonymised', last_name = 'Candidate', email = null, phone = null,
                                     suburb = null, state = null, postcode = null, country = null,
                                     linkedin_url = null, portfolio_url = null, cv_file_path = null,
                                     cv_uploaded_at = null, updated_at = now()
                               where user_id = %(user)s"""),
    ("candidate_dei", "delete from public.candidate_dei where user_id = %(user)s"),
    ("education", "delete from public.education where user_id = %(user)s"),
    ("employment_history", "delete from public.employment_history where user_id = %(user)s"),
    ("practice_interviews", "delete from public.practice_interviews where user_id = %(user)s"),
    ("transcript_segments",
     f"delete from public.transcript_segments where interview_id in ({_CANDIDATE_INTERVIEWS})"),
    ("interview_scores", f"""update public.interview_scores
                                set narrative_summary = null, candidate_feedback = null,
                                    human_override_reason = null, updated_at = now()
                              where interview_id in ({_CANDIDATE_INTERVIEWS})"""),
    ("score_dimensions", f"""update public.score_dimensions set evidence = null, cited_quotes = null
                              where interview_id in ({_CANDIDATE_INTERVIEWS})"""),
    ("interviews", f"""update public.interviews set anti_cheat_signals = null, updated_at = now()
                        where id in ({_CANDIDATE_INTERVIEWS}) and anti_cheat_signals is not null"""),
)


async def delete_candidate_data(conn, user_id) -> dict[str, int]:
    """Delete the candidate's rows (not their auth user); rows affected per table."""
    return await _run_each(conn, _DELETE_CANDIDATE_DATA, user_id)


async def anonymise_candidate(conn, user_id) -> dict[str, int]:
    return await _run_each(conn, _ANONYMISE_CANDIDATE, user_id)


async def _run_each(conn, statements, user_id) -> dict[str, int]:
    counts = {}
    for table, sql in statements:
        cur = await conn.execute(sql, {"user": user_id})
        counts[table] = cur.rowcount
    return counts
