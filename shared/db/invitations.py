"""Invitations: the invitations table and the application being invited to."""

from __future__ import annotations

from shared.db import Conn, Id, Row, fetch_one, fetch_row

# Invitations the candidate has not opened yet; a newer sent invitation replaces them.
UNOPENED_STATUSES = ("pending", "sent", "delivered")


async def insert_invitation(conn: Conn, application_id: Id, token: str, expires_in_days: int, template: str) -> Row:
    return await fetch_row(
        conn,
        """insert into public.invitations (application_id, token, status, email_template, expires_at)
           values (%s, %s, 'pending', %s, now() + make_interval(days => %s))
           returning id, expires_at""",
        (application_id, token, template, expires_in_days),
    )


async def mark_sent(conn: Conn, invitation_id: Id) -> bool:
    """pending -> sent; False when it is no longer pending."""
    cur = await conn.execute(
        "update public.invitations set status = 'sent', sent_at = now() where id = %s and status = 'pending'",
        (invitation_id,),
    )
    return cur.rowcount == 1


async def expire_unopened(conn: Conn, application_id: Id, except_id: Id) -> int:
    """Expire the application's other unopened invitations (their links stop working)."""
    cur = await conn.execute(
        """update public.invitations set status = 'expired'
            where application_id = %s and id <> %s and opened_at is null
              and status = any(%s::public.invitation_status[])""",
        (application_id, except_id, list(UNOPENED_STATUSES)),
    )
    return cur.rowcount


# An invitation moves these to 'invited'; later statuses record progress or a
# decision that a (re)sent invitation must not erase.
APPLICATION_STATUSES_BEFORE_INVITED = ("applied", "screening")


async def application_for_invitation(conn: Conn, application_id: Id, *, lock: bool = False) -> Row | None:
    """The application with its role title, organisation and the candidate's profile email."""
    return await fetch_one(
        conn,
        f"""select a.id, a.candidate_id, a.status, r.title as role_title, r.organisation_id,
                   o.name as organisation_name, p.email as profile_email
              from public.applications a
              join public.job_roles r on r.id = a.job_role_id
              join public.organisations o on o.id = r.organisation_id
              left join public.candidate_profiles p on p.user_id = a.candidate_id
             where a.id = %s
             {"for update of a" if lock else ""}""",
        (application_id,),
    )


async def mark_application_invited(conn: Conn, application_id: Id) -> None:
    await conn.execute(
        "update public.applications set status = 'invited', updated_at = now() where id = %s and status = any(%s)",
        (application_id, list(APPLICATION_STATUSES_BEFORE_INVITED)),
    )
