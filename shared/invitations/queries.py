"""Invitations: the invitations table and the application being invited to.

A send is two short transactions around the email (see
shared/invitations/service.py); each writes in one statement, so a send costs
eight round trips to PostgreSQL, not fourteen. The audit columns are audit.py's.
"""

from __future__ import annotations

from shared.platform.db import Conn, Id, Row, fetch_one, fetch_row

# Invitations the candidate has not opened yet; a newer sent invitation replaces them.
UNOPENED_STATUSES = ("pending", "sent", "delivered")

# An invitation moves these to 'invited'; later statuses record progress or a
# decision that a (re)sent invitation must not erase.
APPLICATION_STATUSES_BEFORE_INVITED = ("applied", "screening")


async def application_for_invitation(conn: Conn, application_id: Id, user_id: Id) -> Row | None:
    """The application, row-locked until the transaction ends (the lock
    serialises concurrent sends for it), with its role title, organisation,
    the candidate's sign-in address when it is confirmed (never the profile's
    email, which the candidate types) and the caller's role in the organisation
    (`member_role`, None when not a member: shared/platform/membership.py's lookup, joined
    here to save a round trip)."""
    return await fetch_one(
        conn,
        """select a.id, r.title as role_title, r.organisation_id,
                  o.name as organisation_name, m.role as member_role,
                  case when u.email_confirmed_at is not null then u.email end as candidate_email
             from public.applications a
             join public.job_roles r on r.id = a.job_role_id
             join public.organisations o on o.id = r.organisation_id
             left join auth.users u on u.id = a.candidate_id
             left join public.org_users m on m.organisation_id = r.organisation_id and m.user_id = %s
            where a.id = %s
              for update of a""",
        (user_id, application_id),
    )


async def lock_application(conn: Conn, application_id: Id) -> None:
    await conn.execute("select 1 from public.applications where id = %s for update", (application_id,))


# The pending invitation, the application's move to 'invited' and the audit entry.
_CREATE = """
with invitation as (
    insert into public.invitations (application_id, token, status, email_template, expires_at)
    values (%(application_id)s, %(token)s, 'pending', %(template)s, now() + make_interval(days => %(days)s))
    returning id, expires_at
), invited as (
    update public.applications set status = 'invited', updated_at = now()
     where id = %(application_id)s and status = any(%(before_invited)s::text[])
), audit_entry as (
    insert into public.audit_log (user_id, organisation_id, action, entity_type, entity_id, new_values, ip_address)
    select %(user_id)s::uuid, %(organisation_id)s::uuid, 'invitation.created', 'invitation', id,
           jsonb_build_object('applicationId', %(application_id)s::text, 'expiresAt', expires_at),
           %(ip_address)s::text
      from invitation
)
select id, expires_at from invitation
"""


async def create_invitation(
    conn: Conn,
    *,
    application_id: Id,
    organisation_id: Id,
    token: str,
    expires_in_days: int,
    template: str,
    user_id: Id,
    ip_address: str | None,
) -> Row:
    """A pending invitation for the application (locked by the caller)."""
    return await fetch_row(
        conn,
        _CREATE,
        {
            "application_id": application_id,
            "organisation_id": organisation_id,
            "token": token,
            "template": template,
            "days": expires_in_days,
            "before_invited": list(APPLICATION_STATUSES_BEFORE_INVITED),
            "user_id": user_id,
            "ip_address": ip_address,
        },
    )


# pending -> sent; only then the application's other unopened invitations
# expire (their links stop working) and the audit entry is written.
_MARK_SENT = """
with sent as (
    update public.invitations set status = 'sent', sent_at = now()
     where id = %(invitation_id)s and status = 'pending'
    returning id, application_id
), expired as (
    update public.invitations i set status = 'expired'
      from sent
     where i.application_id = sent.application_id and i.id <> sent.id and i.opened_at is null
       and i.status = any(%(unopened)s::public.invitation_status[])
    returning i.id
), audit_entry as (
    insert into public.audit_log (user_id, organisation_id, action, entity_type, entity_id, new_values, ip_address)
    select %(user_id)s::uuid, %(organisation_id)s::uuid, 'invitation.sent', 'invitation', id,
           jsonb_build_object('expiredInvitations', (select count(*) from expired)), %(ip_address)s::text
      from sent
)
select count(*) from sent
"""


async def mark_sent(conn: Conn, invitation_id: Id, *, organisation_id: Id, user_id: Id, ip_address: str | None) -> None:
    """Nothing happens when the invitation is no longer pending. Run it with the
    application locked (`lock_application`), so the statement's snapshot sees
    every other send that finished before."""
    await conn.execute(
        _MARK_SENT,
        {
            "invitation_id": invitation_id,
            "unopened": list(UNOPENED_STATUSES),
            "organisation_id": organisation_id,
            "user_id": user_id,
            "ip_address": ip_address,
        },
    )
