"""Who belongs to an organisation, and as what: the lookups every feature's
authorisation starts from (public.org_users, and which organisation owns an
interview)."""

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


async def interview_organisation(conn: Conn, interview_id: Id) -> Id | None:
    """The organisation that owns the interview's role, or None for no such interview."""
    row = await fetch_one(
        conn,
        """select r.organisation_id from public.interviews i
             join public.applications a on a.id = i.application_id
             join public.job_roles r on r.id = a.job_role_id
            where i.id = %s""",
        (interview_id,),
    )
    return row["organisation_id"] if row else None
