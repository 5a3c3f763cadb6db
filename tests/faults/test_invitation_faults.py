"""Resend failing during a burst of invitations, over real HTTP through the local
host: every failed send answers 502 with its invitationId and stays `pending`;
nothing is lost or duplicated; once Resend is back, every one is resent."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from tests.ai.seed import add_profile, create_application, create_org, create_role
from tests.doubles.resend_server import ResendDouble
from tests.support import auth_headers, create_user

BURST = 12  # concurrent sends, one application each
API_KEY = "re_fault_key"


@pytest.fixture(scope="module")
def resend():
    with ResendDouble(api_key=API_KEY) as double:
        yield double


@pytest.fixture(scope="module")
def base(devhosts, resend):
    # A burst and its resends from one recruiter and one address: the limit is not under test here.
    return devhosts.start(
        {
            "RESEND_API_KEY": API_KEY,
            "RESEND_API_URL": resend.url,
            "RATE_LIMITS": json.dumps({"invitations/send": "1000/60"}),
        }
    )


async def burst_of_applications(db, count: int):
    """One recruiter, one role, `count` candidates who applied (each with an email address)."""
    recruiter = await create_user(db)
    org = await create_org(db, recruiter, "recruiter", name=f"Burst Co {uuid.uuid4().hex[:6]}")
    role = await create_role(db, org, title="Site Reliability Engineer")
    applications = {}
    for _ in range(count):
        application, candidate = await create_application(db, role)
        await add_profile(db, candidate)
        applications[application] = f"{candidate.hex[:8]}@example.test"
    return recruiter, applications


async def send_all(base: str, recruiter, applications: dict) -> dict:
    """POST /api/invitations/send for every application at once; answers by application."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def send(application, address):
            return await client.post(
                "/api/invitations/send",
                headers=auth_headers(recruiter),
                json={"applicationId": str(application), "candidateEmail": address},
            )

        answers = await asyncio.gather(*(send(a, e) for a, e in applications.items()))
    return dict(zip(applications, answers, strict=True))


async def invitation_rows(db, applications) -> dict:
    rows = await db.fetch_all(
        "select id, application_id, status, sent_at from invitations "
        "where application_id = any(%s) order by created_at",
        (list(applications),),
    )
    by_application = {a: [] for a in applications}
    for row in rows:
        by_application[row["application_id"]].append(row)
    return by_application


def emails_to(resend: ResendDouble, address: str) -> list[dict]:
    return [e for e in resend.sent_emails if e["to"] == [address]]


@pytest.mark.parametrize("failures", ["all", "some"])
async def test_failed_sends_stay_pending_and_are_all_resent_once_resend_is_back(db, base, resend, failures):
    resend.reset()
    recruiter, applications = await burst_of_applications(db, BURST)
    if failures == "all":
        resend.fail_next(500, times=BURST, path="/emails")
        expected_failures = BURST
    else:  # Resend's errors and a dropped connection, mixed into the burst
        resend.fail_next(500, times=3, path="/emails")
        resend.fail_next(429, times=2, path="/emails")
        resend.drop_next(times=2, path="/emails")
        expected_failures = 7

    answers = await send_all(base, recruiter, applications)

    failed = {a: r for a, r in answers.items() if r.status_code == 502}
    sent = {a: r for a, r in answers.items() if r.status_code == 200}
    assert len(failed) == expected_failures and len(sent) == BURST - expected_failures, {
        str(a): (r.status_code, r.text) for a, r in answers.items()
    }
    rows = await invitation_rows(db, applications)
    for application, answer in failed.items():
        body = answer.json()
        assert body["error"] and "invitationId" in body
        [row] = rows[application]  # saved once: not lost, not duplicated
        assert str(row["id"]) == body["invitationId"] and row["status"] == "pending" and row["sent_at"] is None
    for application, answer in sent.items():
        [row] = rows[application]
        assert str(row["id"]) == answer.json()["invitationId"] and row["status"] == "sent"
        assert len(emails_to(resend, applications[application])) == 1
    assert len(resend.sent_emails) == BURST - expected_failures

    # Resend is back: every failed invitation is sent again, in one burst.
    retried = await send_all(base, recruiter, {a: applications[a] for a in failed})
    assert {r.status_code for r in retried.values()} == {200}, [r.text for r in retried.values()]
    rows = await invitation_rows(db, applications)
    for application in failed:
        first, second = rows[application]
        # The failed one's link is replaced by the new one, never left usable beside it.
        assert str(first["id"]) == failed[application].json()["invitationId"] and first["status"] == "expired"
        assert str(second["id"]) == retried[application].json()["invitationId"] and second["status"] == "sent"
    for application, address in applications.items():
        assert len(emails_to(resend, address)) == 1  # each candidate got exactly one email
        assert [r["status"] for r in rows[application]].count("sent") == 1
    assert len(resend.sent_emails) == BURST
