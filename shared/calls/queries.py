"""Calls' SQL: ACS identities (app.acs_identities: one per user, created once and
reused); interviews found from their call, row-locked and updated; and the
processed event ids (app.processed_events) that make every event count once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.calls import recording_metadata
from shared.platform.db import Conn, Id, Row, fetch_one, jsonb


async def acs_identity_of(conn: Conn, user_id: Id) -> str | None:
    row = await fetch_one(conn, "select communication_user_id from app.acs_identities where user_id = %s", (user_id,))
    return row["communication_user_id"] if row else None


async def lock_acs_identity(conn: Conn, user_id: Id) -> None:
    """Held until the transaction ends: the second of two first requests waits here,
    then finds the identity the first one stored, so ACS creates only one."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"acs_identity:{user_id}",))


async def has_reason_for_call_tokens(conn: Conn, user_id: Id) -> bool:
    """Whether the user may have ACS or Speech tokens (paid per use): a member of an
    organisation, the candidate of an interview that is still open, or someone in a
    practice session started within the last two hours."""
    row = await fetch_one(
        conn,
        """select exists (select 1 from public.org_users where user_id = %(user)s)
               or exists (select 1 from public.interviews i
                            join public.applications a on a.id = i.application_id
                           where a.candidate_id = %(user)s
                             and i.status in ('invited', 'scheduled', 'in_progress'))
               or exists (select 1 from public.practice_interviews p
                           where p.user_id = %(user)s and p.ended_at is null
                             and p.status in ('pending', 'in_progress')
                             and coalesce(p.started_at, p.created_at) > now() - interval '2 hours') as allowed""",
        {"user": user_id},
    )
    return bool(row and row["allowed"])


async def auth_user_exists(conn: Conn, user_id: Id) -> bool:
    return await fetch_one(conn, "select 1 from auth.users where id = %s", (user_id,)) is not None


async def store_acs_identity(conn: Conn, user_id: Id, communication_user_id: str) -> None:
    await conn.execute(
        """insert into app.acs_identities (user_id, communication_user_id) values (%s, %s)
           on conflict (user_id) do update set communication_user_id = excluded.communication_user_id,
                                               created_at = now()""",
        (user_id, communication_user_id),
    )


async def forget_acs_identity(conn: Conn, user_id: Id, communication_user_id: str) -> None:
    """Drop a mapping ACS no longer knows (only if it still names that identity)."""
    await conn.execute(
        "delete from app.acs_identities where user_id = %s and communication_user_id = %s",
        (user_id, communication_user_id),
    )


INTERVIEW_CALL_COLUMNS = (
    "id, status::text as status, started_at, ended_at, duration_seconds, recording_url, recording_deleted_at, metadata"
)
_CALL_UPDATABLE = frozenset({"status", "started_at", "ended_at", "duration_seconds", "recording_url", "metadata"})


async def interview_id_for_call(conn: Conn, server_call_id: str | None, correlation_id: str | None) -> UUID | None:
    """The interview whose metadata names this call (serverCallId first, then correlationId)."""
    if not (server_call_id or correlation_id):
        return None
    row = await fetch_one(
        conn,
        """select id from public.interviews
           where metadata ->> 'serverCallId' = %(server)s or metadata ->> 'correlationId' = %(correlation)s
           order by (metadata ->> 'serverCallId' = %(server)s) desc nulls last, created_at
           limit 1""",
        {"server": server_call_id, "correlation": correlation_id},
    )
    return row["id"] if row else None


async def interview_for_update(conn: Conn, interview_id: Id) -> Row | None:
    """The interview's call fields, row-locked until the transaction ends."""
    return await fetch_one(
        conn, f"select {INTERVIEW_CALL_COLUMNS} from public.interviews where id = %s for update", (interview_id,)
    )


async def may_join_interview_call(conn: Conn, interview_id: Id, communication_user_id: str) -> bool:
    """Whether this ACS identity belongs to the interview's candidate or to a member
    of the organisation that owns the interview's role."""
    row = await fetch_one(
        conn,
        """select exists (
               select 1
               from public.interviews i
               join public.applications a on a.id = i.application_id
               join public.job_roles r on r.id = a.job_role_id
               join app.acs_identities ai on ai.communication_user_id = %(acs)s
               where i.id = %(interview)s
                 and (ai.user_id = a.candidate_id
                      or exists (select 1 from public.org_users ou
                                 where ou.organisation_id = r.organisation_id and ou.user_id = ai.user_id))
           ) as allowed""",
        {"interview": interview_id, "acs": communication_user_id},
    )
    return bool(row and row["allowed"])


async def update_interview_call(conn: Conn, interview_id: Id, changes: dict[str, Any]) -> None:
    """Write the given call fields (metadata as a whole document: the caller holds the row lock)."""
    unknown = set(changes) - _CALL_UPDATABLE
    if unknown:
        raise ValueError(f"not updatable here: {sorted(unknown)}")
    if not changes:
        return
    assignments = ", ".join(
        f"{name} = %({name})s::jsonb"
        if name == "metadata"
        else f"{name} = %({name})s::public.interview_status"
        if name == "status"
        else f"{name} = %({name})s"
        for name in changes
    )
    values = {**changes, "interview_id": interview_id}
    if "metadata" in values:
        values["metadata"] = jsonb(values["metadata"])
    await conn.execute(f"update public.interviews set {assignments} where id = %(interview_id)s", values)


async def claim_event(conn: Conn, event_id: str, event_type: str, interview_id: Id) -> bool:
    """Record the event as processed; False when it already was. A concurrent
    delivery of the same id waits on the primary key until this transaction ends."""
    row = await fetch_one(
        conn,
        """insert into app.processed_events (event_id, event_type, interview_id) values (%s, %s, %s)
           on conflict (event_id) do nothing returning event_id""",
        (event_id, event_type, interview_id),
    )
    return row is not None


async def call_was_erased(conn: Conn, server_call_id: str | None) -> bool:
    """Whether this call belonged to an interview since erased (app.erased_calls)."""
    if not server_call_id:
        return False
    sql = "select 1 from app.erased_calls where call_id_sha256 = " + recording_metadata.CALL_ID_HASH_SQL.format("%s")
    return await fetch_one(conn, sql, (server_call_id,)) is not None


async def purge_erased_calls(conn: Conn, keep_days: int = 30) -> int:
    """Forget erased calls once no recording event of theirs can still arrive."""
    cur = await conn.execute(
        "delete from app.erased_calls where erased_at < now() - make_interval(days => %s)", (keep_days,)
    )
    return cur.rowcount


async def purge_processed_events(conn: Conn, keep_days: int = 7) -> int:
    """Forget event ids older than Event Grid redelivers (24 hours), with margin."""
    cur = await conn.execute(
        "delete from app.processed_events where processed_at < now() - make_interval(days => %s)", (keep_days,)
    )
    return cur.rowcount
