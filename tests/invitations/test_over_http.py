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
    recruiter, application, _, _ = await application_for(db, company="Over HTTP Co")
    response = await post(base, {"applicationId": str(application), "candidateEmail": "kim@example.test"}, recruiter)
    assert response.status_code == 200, response.text
    [invitation] = await invitations_of(db, application)
    assert invitation["status"] == "sent"
    [sent] = [e for e in resend_double.sent_emails if e["to"] == ["kim@example.test"]]
    assert invitation["token"] in sent["html"] and "Over HTTP Co" in sent["subject"]


async def test_written_to_the_outbox_in_development(devhost, db):
    recruiter, application, _, _ = await application_for(db)
    response = await post(devhost, {"applicationId": str(application), "candidateEmail": "lee@example.test"}, recruiter)
    assert response.status_code == 200, response.text
    invitation_id = response.json()["invitationId"]
    [path] = (LOCAL_DIR / "outbox").glob(f"*invitation-{invitation_id}.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [invitation] = await invitations_of(db, application)
    assert message["To"] == "lee@example.test"
    assert f"/invite/{invitation['token']}" in message.get_body(("html",)).get_content()
    path.unlink()
