"""Who belongs to an organisation, and as what: the lookup every feature's
authorisation starts from (public.org_users)."""

from __future__ import annotations

from shared.platform.db import Conn, Id, fetch_one


async def member_role(conn: Conn, organisation_id: Id, user_id: Id) -> str | None:
    """The user's org_users role in the organisation, or None if not a member."""
    row = await fetch_one(
        conn,
        "select role from public.org_users where organisation_id = %s and user_id = %s",
        (organisation_id, user_id),
    )
    return row["role"] if row else None
