"""Rows for invitation tests."""

from __future__ import annotations

from tests.ai.seed import add_profile, create_application, create_org, create_role
from tests.support import create_user


async def application_for(db, *, role="recruiter", title="Data Engineer", company="Acme Analytics", confirmed=True):
    """A recruiter (with `role`) in an organisation, a role and a candidate's application;
    `confirmed`: the candidate's sign-in address is verified."""
    recruiter = await create_user(db)
    org = await create_org(db, recruiter, role, name=company)
    job = await create_role(db, org, title=title)
    application, candidate = await create_application(db, job, await create_user(db, confirmed=confirmed))
    await add_profile(db, candidate)
    return recruiter, application, candidate, org


async def invitations_of(db, application) -> list[dict]:
    return await db.fetch_all("select * from invitations where application_id = %s order by created_at", (application,))
