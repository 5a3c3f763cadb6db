"""Invitations over real HTTP through the local host: Resend (its double) and the
development outbox."""

import email
import email.policy

import httpx
import pytest

from shared.platform.config import LOCAL_DIR
from tests.doubles.resend_server import ResendDouble
from tests.invitations.seed import application_for, invitations_of
from tests.support import auth_headers


@pytest.fixture(scope="module")
def resend_double():
    with ResendDouble(api_key="re_http_key") as double:
        yield double


async def post(base, body, user):
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.post("/api/invitations/send", json=body, headers=auth_headers(user))


async def test_sent_through_resend(devhosts, resend_double, db):
    base = devhosts.start({"RESEND_API_KEY": "re_http_key", "RESEND_API_URL": resend_double.url})
    recruiter, application, candidate, _ = await application_for(db, company="Over HTTP Co")
    address = f"{candidate.hex[:8]}@example.test"
    response = await post(base, {"applicationId": str(application), "candidateEmail": address}, recruiter)
    assert response.status_code == 200, response.text
    [invitation] = await invitations_of(db, application)
    assert invitation["status"] == "sent"
    [sent] = [e for e in resend_double.sent_emails if e["to"] == [address]]
    assert invitation["token"] in sent["html"] and "Over HTTP Co" in sent["subject"]


async def test_written_to_the_outbox_in_development(devhost, db):
    """A stranger's address and forged wording in the body: the outbox holds one message,
    to the candidate on file, in the database's words."""
    recruiter, application, candidate, _ = await application_for(db, title="Data Engineer", company="Acme Analytics")
    forged = {
        "applicationId": str(application),
        "candidateEmail": "lee@stranger.test",
        "roleTitle": "Urgent: confirm your password",
        "companyName": "Payroll Team",
    }
    response = await post(devhost, forged, recruiter)
    assert response.status_code == 200, response.text
    invitation_id = response.json()["invitationId"]
    [path] = (LOCAL_DIR / "outbox").glob(f"*invitation-{invitation_id}.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [invitation] = await invitations_of(db, application)
    assert message["To"] == f"{candidate.hex[:8]}@example.test"
    assert message["Subject"] == "Interview invitation: Data Engineer at Acme Analytics"
    html = message.get_body(("html",)).get_content()
    assert f"/invite/{invitation['token']}" in html
    everything = " ".join([str(message), html, message.get_body(("plain",)).get_content()])
    for forgery in ("stranger.test", "password", "Payroll"):
        assert forgery not in everything
    path.unlink()
