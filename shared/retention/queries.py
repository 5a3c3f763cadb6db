"""Queries for data retention: recordings past their retention period, data
deletion requests, and removing or anonymising a candidate's data.

Where an interview's recording is recorded is defined once, in
shared/calls/recording_metadata.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.calls import recording_metadata as recording
from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one, jsonb
from shared.retention import rules

DEFAULT_RETENTION_DAYS = 60
FIRST_ID = uuid.UUID(int=0)

_INTERVIEW_RECORDING_COLUMNS = "i.id, i.recording_url, i.metadata, r.organisation_id"


# --- Recordings past retention ---------------------------------------------------


@dataclass
class DuePage:
    rows: list[Row]  # due interviews, by id
    next_after: uuid.UUID | None  # where the next page starts; None: nothing left to look at


# The next ids that may still have a recording, in id order, from the partial
# index interviews_recording_pending_idx (one table, one index: the plan cannot
# change with the data). Processed rows leave the index.
_CANDIDATES = f"""select i.id from public.interviews i
   where i.id > %(after)s and i.recording_deleted_at is null and {recording.MAY_HAVE_RECORDING_SQL}
   order by i.id
   limit %(limit)s"""

# Which of those ids are due. The organisation is looked up per interview in a
# subquery that OFFSET 0 keeps from being flattened into the join, so the
# planner cannot start from the organisation (its applications, every one of
# its interviews, sorted) on every page, which is what made large runs quadratic.
# The retention clock starts when the interview ended; only CallEnded sets ended_at,
# so an interview without one (cancelled, expired, or its CallEnded missed) counts
# from its start, or failing that its creation (never null): otherwise its
# recording would be kept for good.
_DUE_AMONG = f"""select {_INTERVIEW_RECORDING_COLUMNS}, r.organisation_name, r.retention_days
      from public.interviews i
     cross join lateral (
           select jr.organisation_id, o.name as organisation_name,
                  coalesce(o.recording_retention_days, {DEFAULT_RETENTION_DAYS}) as retention_days
             from public.applications a
             join public.job_roles jr on jr.id = a.job_role_id
             join public.organisations o on o.id = jr.organisation_id
            where a.id = i.application_id
           offset 0) r
     where i.id = any(%(ids)s::uuid[])
       and i.recording_deleted_at is null
       and coalesce(i.ended_at, i.started_at, i.created_at)
           < %(now)s::timestamptz - make_interval(days => r.retention_days)
       and {recording.HAS_RECORDING_SQL}
       and (%(organisation)s::uuid is null or r.organisation_id = %(organisation)s::uuid)
     order by i.id"""


async def due_interviews(
    conn: Conn, *, now: datetime, after: uuid.UUID, limit: int, organisation_id: Id | None = None, lock: bool
) -> DuePage:
    """The next page (by id, after `after`) of interviews whose recordings are
    past their organisation's retention period. With `lock`, the rows stay
    locked until the transaction ends and rows another run holds are skipped,
    so two runs never process the same interview. A page may be empty while
    `next_after` says there is more to look at. Each page costs the same
    whatever the number of interviews (docs/performance/retention.md)."""
    ids = [row["id"] for row in await fetch_all(conn, _CANDIDATES, {"after": after, "limit": limit})]
    if not ids:
        return DuePage([], None)
    rows = await fetch_all(
        conn,
        _DUE_AMONG + (" for update of i skip locked" if lock else ""),
        {"ids": ids, "now": now, "organisation": organisation_id},
    )
    return DuePage(rows, ids[-1])


async def organisation_retention(conn: Conn, organisation_id: Id) -> Row | None:
    return await fetch_one(
        conn,
        f"""select id, name, coalesce(recording_retention_days, {DEFAULT_RETENTION_DAYS}) as retention_days
              from public.organisations where id = %s""",
        (organisation_id,),
    )


async def candidate_interviews_with_recordings(conn: Conn, user_id: Id) -> list[Row]:
    """The candidate's interviews that still have a recording, row-locked
    (waiting for a cleanup run that holds one, which then no longer matches)."""
    return await fetch_all(
        conn,
        f"""select {_INTERVIEW_RECORDING_COLUMNS}
              from public.interviews i
              join public.applications a on a.id = i.application_id
              join public.job_roles r on r.id = a.job_role_id
             where a.candidate_id = %s and i.recording_deleted_at is null and {recording.HAS_RECORDING_SQL}
             order by i.id
             for update of i""",
        (user_id,),
    )


async def candidate_cv_path(conn: Conn, user_id: Id) -> str | None:
    """The candidate's stored CV path, with the profile row locked until the
    transaction ends (the file is deleted, then the row cleared, under that lock)."""
    row = await fetch_one(
        conn, "select cv_file_path from public.candidate_profiles where user_id = %s for update", (user_id,)
    )
    return row["cv_file_path"] if row else None


async def clear_recordings(conn: Conn, cleared: list[tuple[Row, list[str]]]) -> None:
    """For each (interview, URLs kept): clear recording_url and the chunk
    locations except the kept URLs (recordings outside our storage, which were
    not deleted). recording_deleted_at is set only when nothing is kept."""
    changes = []
    for row, kept in cleared:
        url = row.get("recording_url") if row.get("recording_url") in kept else None
        metadata = recording.without_locations(row.get("metadata"), kept)
        if kept and url == row.get("recording_url") and metadata == row.get("metadata"):
            continue  # nothing of ours was left to clear
        changes.append((row["id"], url, None if metadata is None else jsonb(metadata), not kept))
    if not changes:
        return
    ids, urls, metadata, deleted = (list(column) for column in zip(*changes, strict=True))
    await conn.execute(
        """update public.interviews i
              set recording_deleted_at = case when m.deleted then now() else i.recording_deleted_at end,
                  recording_url = m.url, metadata = m.metadata, updated_at = now()
             from unnest(%s::uuid[], %s::text[], %s::jsonb[], %s::boolean[]) as m(id, url, metadata, deleted)
            where i.id = m.id""",
        (ids, urls, metadata, deleted),
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


async def claim_deletion_request(
    conn: Conn, *, run_started: datetime, processed_by: str, organisation_id: Id | None = None
) -> Row | None:
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


async def due_deletion_requests(conn: Conn, *, run_started: datetime, organisation_id: Id | None = None) -> list[Row]:
    """What a run would claim (dry runs)."""
    return await fetch_all(
        conn,
        f"""select d.id, d.user_id, d.request_type, d.status from public.data_deletion_requests d
             where {_REQUEST_DUE} and {_REQUEST_IN_ORGANISATION}
             order by d.requested_at, d.id""",
        {"run_started": run_started, "organisation": organisation_id},
    )


async def finish_deletion_request(conn: Conn, request_id: Id, *, status: str, notes: str, processed_by: str) -> None:
    """Record the outcome. After a full deletion in production the row may
    already be gone (it cascades from auth.users); that is fine."""
    await conn.execute(
        """update public.data_deletion_requests
              set status = %s, notes = %s, processed_at = now(), processed_by = %s
            where id = %s""",
        (status, notes, processed_by, request_id),
    )


# --- A candidate's data -----------------------------------------------------------

# The statements come from the registry of where candidate data lives (rules.py).
_DELETE_CANDIDATE_DATA: tuple[tuple[str, str], ...] = tuple(
    (rule.name, rule.erase) for rule in rules.TABLE_RULES if rule.erase is not None
)
_ANONYMISE_CANDIDATE: tuple[tuple[str, str], ...] = tuple(
    (rule.name, rule.anonymise) for rule in rules.TABLE_RULES if rule.anonymise is not None
)


async def candidate_interview_ids(conn: Conn, user_id: Id) -> list[uuid.UUID]:
    rows = await fetch_all(conn, rules.CANDIDATE_INTERVIEWS + " order by i.id", {"user": user_id})
    return [row["id"] for row in rows]


async def candidate_acs_identities(conn: Conn, user_id: Id) -> list[str]:
    rows = await fetch_all(conn, "select communication_user_id from app.acs_identities where user_id = %s", (user_id,))
    return [row["communication_user_id"] for row in rows]


async def delete_candidate_data(conn: Conn, user_id: Id) -> dict[str, int]:
    """Delete the candidate's rows (not their auth user); rows affected per table."""
    return await _run_each(conn, _DELETE_CANDIDATE_DATA, user_id)


async def anonymise_candidate(conn: Conn, user_id: Id) -> dict[str, int]:
    return await _run_each(conn, _ANONYMISE_CANDIDATE, user_id)


async def _run_each(conn: Conn, statements: tuple[tuple[str, str], ...], user_id: Id) -> dict[str, int]:
    counts = {}
    for table, sql in statements:
        cur = await conn.execute(sql, {"user": user_id})
        counts[table] = cur.rowcount
    return counts
