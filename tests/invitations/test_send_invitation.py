"""POST /api/invitations/send called as the worker calls it, on a real database,
with email through the real resend SDK against ResendDouble."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import resend

from shared.adapters.email import ResendEmail
from tests.doubles.resend_server import ResendDouble
from tests.invitations.seed import application_for, invitations_of
from tests.support import auth_headers, call_function, clear_of_window_edge, create_user

SITE = "http://localhost:5173"


@pytest.fixture(scope="module")
def resend_double():
    with ResendDouble(api_key="re_invite_key") as double:
        yield double


@pytest.fixture
def mail(services, resend_double, monkeypatch):
    """The app's email goes to the double through the real SDK (its globals restored afterwards)."""
    for name in ("api_key", "api_url", "default_async_http_client"):
        monkeypatch.setattr(resend, name, getattr(resend, name))
    resend_double.reset()
    monkeypatch.setitem(
        services.__dict__,
        "email",
        ResendEmail("re_invite_key", "Talenti <no-reply@talenti.test>", resend_double.url, timeout_seconds=1),
    )
    return resend_double


async def send(body, user, ip):
    return await call_function(
        "invitations_send", "POST", body, auth_headers(user), client_ip=ip, path="/api/invitations/send"
    )


async def application_status(db, application) -> str:
    return (await db.fetch_one("select status from applications where id = %s", (application,)))["status"]


async def test_sends_the_invitation_and_records_it(db, mail, unique_ip):
    recruiter, application, candidate, org = await application_for(db, title="Senior Data Engineer", company="Acme")
    before = datetime.now(UTC)
    result = await send(
        {"applicationId": str(application), "candidateEmail": f"{candidate.hex[:8]}@example.test", "expiresInDays": 10},
        recruiter,
        unique_ip,
    )
    assert result.status == 200, result
    body = result.json()
    assert set(body) == {"success", "invitationId", "expiresAt"} and body["success"] is True

    [invitation] = await invitations_of(db, application)
    assert str(invitation["id"]) == body["invitationId"]
    assert invitation["status"] == "sent" and invitation["sent_at"] >= before
    assert timedelta(days=9, hours=23) < invitation["expires_at"] - before < timedelta(days=10, minutes=1)
    assert len(invitation["token"]) >= 43  # 32 random bytes, URL-safe
    assert await application_status(db, application) == "invited"

    [sent] = mail.sent_emails
    assert sent["to"] == [f"{candidate.hex[:8]}@example.test"]
    assert sent["subject"] == "Interview invitation: Senior Data Engineer at Acme"
    link = f"{SITE}/invite/{invitation['token']}"
    for part in (sent["html"], sent["text"]):
        assert link in part and "Senior Data Engineer" in part and "Acme" in part
        assert invitation["expires_at"].astimezone(UTC).strftime("%-d %B %Y") in part
    entries = await db.fetch_all(
        "select action, user_id, organisation_id, new_values, ip_address from audit_log"
        " where entity_id = %s order by created_at",
        (invitation["id"],),
    )
    assert [entry["action"] for entry in entries] == ["invitation.created", "invitation.sent"]
    assert all((e["user_id"], e["organisation_id"], e["ip_address"]) == (recruiter, org, unique_ip) for e in entries)
    created, sent_entry = (entry["new_values"] for entry in entries)
    assert created["applicationId"] == str(application)
    assert datetime.fromisoformat(created["expiresAt"]) == invitation["expires_at"]
    assert sent_entry == {"expiredInvitations": 0}


async def test_title_company_and_email_default_from_the_database(db, mail, unique_ip):
    recruiter, application, candidate, _ = await application_for(
        db, title="Platform Engineer", company="Defaults Pty Ltd"
    )
    result = await send({"applicationId": str(application), "roleTitle": None, "companyName": ""}, recruiter, unique_ip)
    assert result.status == 200, result
    [sent] = mail.sent_emails
    assert sent["to"] == [f"{candidate.hex[:8]}@example.test"]  # the candidate's sign-in address
    assert "Platform Engineer" in sent["html"] and "Defaults Pty Ltd" in sent["html"]
    [invitation] = await invitations_of(db, application)
    assert invitation["expires_at"] - invitation["created_at"] == timedelta(days=7)


async def test_a_strangers_address_and_forged_wording_reach_no_one_but_the_candidate_on_file(db, mail, unique_ip):
    """The phishing attack: a self-made organisation's recruiter asks for an email to
    someone else in their own words. Only the candidate on file gets one, in the database's words."""
    recruiter, application, candidate, _ = await application_for(db, title="Data Engineer", company="Acme Analytics")
    forged = {
        "applicationId": str(application),
        "candidateEmail": "victim@stranger.test",
        "roleTitle": "Your account is locked: verify at https://evil.test",
        "companyName": "Your Bank",
    }
    result = await send(forged, recruiter, unique_ip)
    assert result.status == 200, result
    [sent] = mail.sent_emails
    assert sent["to"] == [f"{candidate.hex[:8]}@example.test"]
    assert sent["subject"] == "Interview invitation: Data Engineer at Acme Analytics"
    everything = json.dumps(mail.sent_emails)
    for forgery in ("stranger.test", "evil.test", "Your Bank", "locked"):
        assert forgery not in everything


async def test_the_organisations_daily_quota_is_enforced_on_top_of_the_per_user_limit(
    db, services, mail, unique_ip, monkeypatch
):
    monkeypatch.setattr(services.settings, "INVITATIONS_PER_ORG_PER_DAY", 3)
    recruiter, application, _, org = await application_for(db)
    colleague = await create_user(db)  # a second recruiter of the organisation: the quota is the organisation's
    await db.execute(
        "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'recruiter')", (org, colleague)
    )
    other_recruiter, other_application, _, _ = await application_for(db)  # another organisation
    body = {"applicationId": str(application)}
    statuses = [(await send(body, user, unique_ip)).status for user in (recruiter, colleague, recruiter)]
    assert statuses == [200, 200, 200]
    refused = await send(body, colleague, unique_ip)
    assert refused.status == 429
    answer = refused.json()
    assert "Rate limit" in answer["error"] and "3 invitations for today" in answer["error"]
    assert 0 < answer["retryAfter"] <= 86_400 and refused.headers["Retry-After"] == str(answer["retryAfter"])
    assert len(await invitations_of(db, application)) == 3 and len(mail.sent_emails) == 3  # the refusal wrote nothing
    assert (await send({"applicationId": str(other_application)}, other_recruiter, unique_ip)).status == 200


async def test_interpolated_values_arrive_as_text(db, mail, unique_ip):
    recruiter, application, _, _ = await application_for(
        db, title="<script>alert(1)</script>", company='Evil "Co" & <b>Sons</b>'
    )
    result = await send({"applicationId": str(application), "candidateEmail": "sam@example.test"}, recruiter, unique_ip)
    assert result.status == 200, result
    html = mail.sent_emails[0]["html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Sons</b>" not in html and "Evil &quot;Co&quot; &amp; &lt;b&gt;Sons&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" in mail.sent_emails[0]["text"]  # plain text is not HTML


@pytest.mark.parametrize("role", ["admin", "org_admin", "hiring_manager"])
async def test_every_inviting_role_may_send(db, mail, unique_ip, role):
    recruiter, application, _, _ = await application_for(db, role=role)
    result = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, recruiter, unique_ip)
    assert result.status == 200, result


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_other_roles_are_refused_and_nothing_is_written(db, mail, unique_ip, role):
    user, application, _, _ = await application_for(db, role=role)
    result = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, user, unique_ip)
    assert result.status == 403
    assert await invitations_of(db, application) == [] and mail.sent_emails == []
    assert await application_status(db, application) == "applied"


async def test_a_recruiter_of_another_organisation_is_refused(db, mail, unique_ip):
    outsider, _, _, _ = await application_for(db)
    _, application, _, _ = await application_for(db)
    result = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, outsider, unique_ip)
    assert result.status == 403 and await invitations_of(db, application) == []


async def test_unknown_application_is_404(db, mail, unique_ip):
    user = await create_user(db)
    result = await send({"applicationId": str(uuid.uuid4()), "candidateEmail": "a@example.test"}, user, unique_ip)
    assert result.status == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"candidateEmail": "a@example.test"}, "applicationId"),
        ({"applicationId": "not-a-uuid", "candidateEmail": "a@example.test"}, "applicationId"),
        ({"applicationId": str(uuid.uuid4()), "candidateEmail": "not an email"}, "candidateEmail"),
        ({"applicationId": str(uuid.uuid4()), "expiresInDays": 0}, "expiresInDays"),
        ({"applicationId": str(uuid.uuid4()), "expiresInDays": 31}, "expiresInDays"),
        ({"applicationId": str(uuid.uuid4()), "roleTitle": "x" * 201}, "roleTitle"),
    ],
)
async def test_invalid_bodies_get_400(db, mail, unique_ip, body, field):
    user = await create_user(db)
    result = await send(body, user, unique_ip)
    assert result.status == 400 and [d["field"] for d in result.json()["details"]] == [field]


@pytest.mark.parametrize("given", [None, "someone@example.test"])
async def test_no_confirmed_sign_in_address_is_422_whatever_the_body_says(db, mail, unique_ip, given):
    recruiter, application, _, _ = await application_for(db, confirmed=False)
    result = await send({"applicationId": str(application), "candidateEmail": given}, recruiter, unique_ip)
    assert result.status == 422 and "no confirmed email address" in result.json()["error"]
    assert await invitations_of(db, application) == [] and mail.sent_emails == []


async def test_a_strangers_address_in_the_candidates_own_profile_is_never_mailed(db, mail, unique_ip):
    """The candidate types their profile's email: an attacker who applies to their own role
    with a victim's address there still mails only the address they signed in with."""
    recruiter, application, candidate, _ = await application_for(db)
    await db.execute("update candidate_profiles set email = 'victim@stranger.test' where user_id = %s", (candidate,))
    result = await send({"applicationId": str(application)}, recruiter, unique_ip)
    assert result.status == 200, result
    [sent] = mail.sent_emails
    assert sent["to"] == [f"{candidate.hex[:8]}@example.test"] and "stranger.test" not in json.dumps(sent)


@pytest.mark.parametrize("failure", ["server_error", "timeout"])
async def test_email_failure_keeps_the_invitation_pending_and_a_resend_works(db, mail, unique_ip, failure):
    recruiter, application, _, _ = await application_for(db)
    # A timeout: the answer comes after the adapter (1 s) has given up.
    mail.fail_next(500, delay=0 if failure == "server_error" else 3)
    failed = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, recruiter, unique_ip)

    assert failed.status == 502 and failed.json()["error"]
    [pending] = await invitations_of(db, application)
    assert failed.json()["invitationId"] == str(pending["id"])
    assert pending["status"] == "pending" and pending["sent_at"] is None
    assert await application_status(db, application) == "invited"  # committed before the email

    resent = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, recruiter, unique_ip)
    assert resent.status == 200, resent
    first, second = await invitations_of(db, application)
    assert (first["status"], second["status"]) == ("expired", "sent")  # the undelivered one can never be used
    assert str(second["id"]) == resent.json()["invitationId"] and first["token"] != second["token"]


async def test_a_new_invitation_expires_earlier_unopened_ones_only(db, mail, unique_ip):
    recruiter, application, _, _ = await application_for(db)
    body = {"applicationId": str(application), "candidateEmail": "a@example.test"}
    assert (await send(body, recruiter, unique_ip)).status == 200
    assert (await send(body, recruiter, unique_ip)).status == 200
    opened = (await invitations_of(db, application))[1]
    await db.execute("update invitations set status = 'opened', opened_at = now() where id = %s", (opened["id"],))
    assert (await send(body, recruiter, unique_ip)).status == 200
    assert [row["status"] for row in await invitations_of(db, application)] == ["expired", "opened", "sent"]


async def test_concurrent_sends_leave_exactly_one_usable_invitation(db, mail, unique_ip):
    """The application's row lock serialises the sends: each is written and
    emailed, and whichever is marked sent expires the others still unopened,
    so one stays usable and each of the rest was expired exactly once."""
    recruiter, application, _, _ = await application_for(db)
    body = {"applicationId": str(application), "candidateEmail": "a@example.test"}
    results = await asyncio.gather(*(send(body, recruiter, unique_ip) for _ in range(5)))
    assert [result.status for result in results] == [200] * 5
    rows = await invitations_of(db, application)
    assert sorted(row["status"] for row in rows) == ["expired"] * 4 + ["sent"] and len(mail.sent_emails) == 5
    [sent] = [row for row in rows if row["status"] == "sent"]
    entries = await db.fetch_all(
        "select action, new_values from audit_log where entity_id = any(%s) order by created_at",
        ([row["id"] for row in rows],),
    )
    assert [entry["action"] for entry in entries].count("invitation.created") == 5
    expired = [e["new_values"]["expiredInvitations"] for e in entries if e["action"] == "invitation.sent"]
    assert sum(expired) == 4 and sent["sent_at"] is not None


async def test_a_later_application_status_is_not_moved_back(db, mail, unique_ip):
    recruiter, application, _, _ = await application_for(db)
    await db.execute("update applications set status = 'shortlisted' where id = %s", (application,))
    result = await send({"applicationId": str(application), "candidateEmail": "a@example.test"}, recruiter, unique_ip)
    assert result.status == 200 and await application_status(db, application) == "shortlisted"


async def test_thirty_a_minute(db, mail, unique_ip):
    recruiter, application, _, _ = await application_for(db)
    body = {"applicationId": str(application), "candidateEmail": "a@example.test"}
    await clear_of_window_edge()
    statuses = [(await send(body, recruiter, unique_ip)).status for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    assert len(mail.sent_emails) == 30
