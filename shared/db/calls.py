"""The app's call tables: ACS identities (app.acs_identities) and processed
event ids (app.processed_events)."""

from __future__ import annotations

from shared.db import fetch_one

async def acs_identity_of(conn, user_id) -> str | None:
    row = await fetch_one(conn, "select communication_user_id from app.acs_identities where user_id = %s",
                          (user_id,))
    return row["communication_user_id"] if row else None


async def lock_acs_identity(conn, user_id) -> None:
    """Held until the transaction ends: the second of two first requests waits here,
    then finds the identity the first one stored, so ACS creates only one."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"acs_identity:{user_id}",))


async def auth_user_exists(conn, user_id) -> bool:
    return await fetch_one(conn, "select 1 from auth.users where id = %s", (user_id,)) is not None


async def store_acs_identity(conn, user_id, communication_user_id: str) -> None:
    await conn.execute(
        """insert into app.acs_identities (user_id, communication_user_id) values (%s, %s)
           on conflict (user_id) do update set communication_user_id = excluded.communication_user_id,
                                               created_at = now()""",
        (user_id, communication_user_id),
    )


async def forget_acs_identity(conn, user_id, communication_user_id: str) -> None:
    """Drop a mapping ACS no longer knows (only if it still names that identity)."""
    await conn.execute("delete from app.acs_identities where user_id = %s and communication_user_id = %s",
                       (user_id, communication_user_id))


async def claim_event(conn, event_id: str, event_type: str, interview_id) -> bool:
    """Record the event as processed; False when it already was. A concurrent
    delivery of the same id waits on the primary key until this transaction ends."""
    row = await fetch_one(
        conn,
        """insert into app.processed_events (event_id, event_type, interview_id) values (%s, %s, %s)
           on conflict (event_id) do nothing returning event_id""",
        (event_id, event_type, interview_id),
    )
    return row is not None


async def purge_processed_events(db, keep_days: int = 7) -> int:
    """Forget event ids older than Event Grid redelivers (24 hours), with margin."""
    return await db.execute("delete from app.processed_events where processed_at < now() - make_interval(days => %s)",
                            (keep_days,))
