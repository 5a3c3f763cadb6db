"""An organisation with the issue's worked example: four men scoring 5, 6, 7, 8, four
women 1, 2, 3, 9, and two Unknowns 4 and 10 (one declined in words the table does not
map, one never answered), each self-identified in words as people type them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tests.ai.seed import add_score, create_application, create_org, create_role
from tests.support import create_user

# Raw self-identification that must never leave the database except as a category.
RAW = {
    "man": ("Man", "Caucasian"),
    "woman": ("woman", "Asian American"),
    "declined": ("dei-gender-marker", "dei-ethnicity-marker"),
}
DISABILITY = "dei-disability-marker"
SECRETS = ("Caucasian", "Asian American", "dei-gender-marker", "dei-ethnicity-marker", DISABILITY)


@dataclass
class Org:
    id: uuid.UUID
    admin: uuid.UUID
    org_admin: uuid.UUID
    recruiter: uuid.UUID
    role: uuid.UUID
    candidates: list[uuid.UUID] = field(default_factory=list)
    applications: list[uuid.UUID] = field(default_factory=list)


async def add_dei(db, user, who: str) -> None:
    gender, ethnicity = RAW[who]
    await db.execute(
        "insert into candidate_dei (user_id, gender, ethnicity, disability_status) values (%s, %s, %s, %s)",
        (user, gender, ethnicity, DISABILITY),
    )


async def worked_example(db) -> Org:
    admin = await create_user(db)
    org_id = await create_org(db, admin, role="admin", name="Audit Co")
    org_admin, recruiter = await create_user(db), await create_user(db)
    for user, role in ((org_admin, "org_admin"), (recruiter, "recruiter")):
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, %s)", (org_id, user, role)
        )
    org = Org(org_id, admin, org_admin, recruiter, await create_role(db, org_id))
    people = [("man", s) for s in (5, 6, 7, 8)] + [("woman", s) for s in (1, 2, 3, 9)]
    people += [("declined", 4), (None, 10)]
    for who, score in people:
        application, candidate = await create_application(db, org.role, status="interviewed")
        if who:
            await add_dei(db, candidate, who)
        await add_score(db, application, score)
        org.candidates.append(candidate)
        org.applications.append(application)
    return org
