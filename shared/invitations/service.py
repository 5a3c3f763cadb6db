"""Inviting a candidate to interview by email (was the `send-invitation` edge function).

Order matters so that nothing is lost: the invitation row (pending) and the
application's move to `invited` are committed first; then the email is sent;
then the invitation becomes `sent` and the application's older unopened
invitations expire. Both transactions hold the application's row lock, which
serialises concurrent sends for it. If the email fails, the invitation stays `pending`, the
caller gets 502 with its id, and sending again creates a fresh one.

Only the candidate on file is ever emailed, in the database's words: the
request's `candidateEmail`, `roleTitle` and `companyName` are never used (a
self-made organisation could otherwise mail anyone from Talenti's domain), and
each organisation may send `org_daily_quota` invitations per UTC day.
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, datetime
from uuid import UUID

from pydantic import TypeAdapter, ValidationError

from shared.adapters.email import EmailError, EmailMessage
from shared.adapters.ports import Database, EmailSender
from shared.invitations import queries as invitations
from shared.invitations.models import SendInvitationRequest, SendInvitationResponse
from shared.platform.auth import ORG_RECRUITER_ROLES, require_role
from shared.platform.db import Conn, Id
from shared.platform.errors import NotFound, RateLimited, Unprocessable, UpstreamError
from shared.platform.logs import log_event
from shared.platform.models import Email
from shared.platform.rate_limit import count_in_window

TEMPLATE = "interview_invitation_v1"  # stored in invitations.email_template
TOKEN_BYTES = 32
QUOTA_WINDOW_SECONDS = 86_400  # the organisation's quota counts per UTC day


async def send_invitation(
    db: Database,
    email: EmailSender,
    user_id: UUID,
    request: SendInvitationRequest,
    *,
    site_url: str,
    org_daily_quota: int,
    ip_address: str | None = None,
) -> SendInvitationResponse:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with db.transaction() as conn:
        application = await invitations.application_for_invitation(conn, request.applicationId, user_id)
        if application is None:
            raise NotFound("Application not found")
        require_role(application["member_role"], ORG_RECRUITER_ROLES, "the application's organisation")
        recipient = _valid_email(application["candidate_email"])
        if recipient is None:
            raise Unprocessable(
                "The candidate has no confirmed email address: invitations go only to the address they sign in with"
            )
        if request.candidateEmail and request.candidateEmail.casefold() != recipient.casefold():
            # Ignored, not refused: the frontend always sends an address and may hold an old one.
            # Neither address is logged.
            log_event("invitation.other_address_ignored", applicationId=str(request.applicationId))
        # Counted in this transaction: a refused or failed send does not use the quota up.
        await _within_org_quota(conn, application["organisation_id"], org_daily_quota)
        invitation = await invitations.create_invitation(
            conn,
            application_id=request.applicationId,
            organisation_id=application["organisation_id"],
            token=token,
            expires_in_days=request.expiresInDays,
            template=TEMPLATE,
            user_id=user_id,
            ip_address=ip_address,
        )

    message = invitation_email(
        role_title=application["role_title"],
        company=application["organisation_name"],
        expires_at=invitation["expires_at"],
        link=f"{site_url.rstrip('/')}/invite/{token}",
        to=recipient,
    )
    try:
        await email.send(message, idempotency_key=f"invitation-{invitation['id']}")
    except EmailError as exc:
        log_event("invitation.email_failed", invitationId=invitation["id"], error=exc.reason)
        raise UpstreamError(
            "The invitation email could not be sent. The invitation was saved; please send it again.",
            extra={"invitationId": str(invitation["id"])},
        ) from None

    async with db.transaction() as conn:
        await invitations.lock_application(conn, request.applicationId)
        await invitations.mark_sent(
            conn,
            invitation["id"],
            organisation_id=application["organisation_id"],
            user_id=user_id,
            ip_address=ip_address,
        )
    return SendInvitationResponse(invitationId=invitation["id"], expiresAt=invitation["expires_at"])


async def _within_org_quota(conn: Conn, organisation_id: Id, quota: int) -> None:
    count, retry_after = await count_in_window(conn, f"invitations/org-day|{organisation_id}", QUOTA_WINDOW_SECONDS)
    if count > quota:
        raise RateLimited(
            retry_after,
            f"Rate limit exceeded: this organisation has sent its {quota} invitations for today. "
            "Please try again tomorrow.",
        )


def _valid_email(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return TypeAdapter(Email).validate_python(value)
    except ValidationError:
        return None


def invitation_email(*, role_title: str, company: str, expires_at: datetime, link: str, to: str) -> EmailMessage:
    """The invitation's HTML and plain-text parts. Every interpolated value is
    escaped in the HTML: role titles and company names are user input."""
    expires = expires_at.astimezone(UTC).strftime("%-d %B %Y, %H:%M UTC")
    subject = _one_line(f"Interview invitation: {role_title} at {company}")
    e = {
        "role": html.escape(role_title),
        "company": html.escape(company),
        "expires": html.escape(expires),
        "link": html.escape(link, quote=True),
    }
    body = f"""<!doctype html>
<html lang="en">
<body style="margin:0;padding:24px;background:#f5f6f8;font-family:Arial,Helvetica,sans-serif;color:#1f2933">
  <div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
    <h1 style="font-size:20px;margin:0 0 16px">You're invited to interview</h1>
    <p style="font-size:15px;line-height:1.5">{e["company"]} has invited you to an interview for the
      <strong>{e["role"]}</strong> role.</p>
    <p style="font-size:15px;line-height:1.5">The interview is conducted online by Talenti's AI interviewer.
      You can take it at any time before <strong>{e["expires"]}</strong>.</p>
    <p style="margin:28px 0"><a href="{e["link"]}" style="background:#2563eb;color:#ffffff;padding:12px 20px;
      border-radius:6px;text-decoration:none;font-weight:bold">Start your interview</a></p>
    <p style="font-size:13px;color:#52606d">Or open this link: <a href="{e["link"]}">{e["link"]}</a></p>
    <p style="font-size:13px;color:#52606d">If you weren't expecting this email, you can ignore it.</p>
  </div>
</body>
</html>
"""
    text = (
        f"{company} has invited you to an interview for the {role_title} role.\n\n"
        f"The interview is conducted online by Talenti's AI interviewer. "
        f"You can take it at any time before {expires}.\n\n"
        f"Start your interview: {link}\n\n"
        "If you weren't expecting this email, you can ignore it.\n"
    )
    return EmailMessage(to=to, subject=subject, html=body, text=text, link=link)


def _one_line(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()[:250]
