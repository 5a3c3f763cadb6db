"""ACS identities (app.acs_identities): one per user, created once and reused."""

from __future__ import annotations

from shared.platform.db import Conn, Id, fetch_one


async def acs_identity_of(conn: Conn, user_id: Id) -> str | None:
    row = await fetch_one(conn, "select communication_user_id from app.acs_identities where user_id = %s", (user_id,))
    return row["communication_user_id"] if row else None


async def lock_acs_identity(conn: Conn, user_id: Id) -> None:
    """Held until the transaction ends: the second of two first requests waits here,
    then finds the identity the first one stored, so ACS creates only one."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"acs_identity:{user_id}",))


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
