"""Rows the AI endpoints read: organisations, roles, applicants with profiles,
skills, employment, interviews and scores."""

from __future__ import annotations

import json
import uuid
from datetime import date

from tests.support import create_user


async def create_org(db, member=None, role="recruiter", name="Acme") -> uuid.UUID:
    row = await db.fetch_one("insert into organisations (name) values (%s) returning id", (name,))
    if member is not None:
        await db.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, %s)", (row["id"], member, role)
        )
    return row["id"]


async def create_role(
    db,
    org_id,
    title="Senior Frontend Engineer",
    requirements=None,
    location="Sydney NSW",
    description="Build the product's web app.",
    status="draft",
) -> uuid.UUID:
    """A role (draft by default: active roles are visible to every user under RLS,
    which other tests of the shared database count)."""
    requirements = (
        requirements
        if requirements is not None
        else {
            "skills": ["React", "TypeScript", "GraphQL"],
            "experience": ["5+ years of frontend work"],
            "qualifications": [],
            "responsibilities": ["Lead frontend architecture"],
            "interviewQuestions": [],
        }
    )
    row = await db.fetch_one(
        """insert into job_roles (organisation_id, title, description, requirements, location, status)
           values (%s, %s, %s, %s::jsonb, %s, %s::job_role_status) returning id""",
        (org_id, title, description, json.dumps(requirements), location, status),
    )
    return row["id"]


async def create_application(db, role_id, candidate=None, status="applied") -> tuple[uuid.UUID, uuid.UUID]:
    candidate = candidate or await create_user(db)
    row = await db.fetch_one(
        "insert into applications (job_role_id, candidate_id, status) values (%s, %s, %s) returning id",
        (role_id, candidate, status),
    )
    return row["id"], candidate


async def create_interview(db, application_id, started_at=None, status="scheduled") -> uuid.UUID:
    row = await db.fetch_one(
        """insert into interviews (application_id, status, started_at)
           values (%s, %s::interview_status, %s) returning id""",
        (application_id, status, started_at),
    )
    return row["id"]


async def add_profile(
    db,
    user_id,
    *,
    paused=False,
    skills=(),
    jobs=(),
    state="NSW",
    availability="2 weeks notice",
    work_mode="hybrid",
    first_name="Alex",
    dei=None,
) -> None:
    await db.execute(
        """insert into candidate_profiles (user_id, first_name, last_name, email, state, suburb, availability,
                                           work_mode, paused_at)
           values (%s, %s, 'Candidate', %s, %s, 'Surry Hills', %s, %s, case when %s then now() end)""",
        (user_id, first_name, f"{user_id.hex[:8]}@example.test", state, availability, work_mode, paused),
    )
    for skill in skills:
        await db.execute(
            "insert into candidate_skills (user_id, skill_name, skill_type) values (%s, %s, 'hard')", (user_id, skill)
        )
    for title, company, start, end, description in jobs:
        await db.execute(
            """insert into employment_history (user_id, job_title, company_name, start_date, end_date, is_current,
                                               description)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (user_id, title, company, start, end, end is None, description),
        )
    if dei:
        await db.execute(
            "insert into candidate_dei (user_id, gender, ethnicity, disability_status) values (%s, %s, %s, %s)",
            (user_id, dei["gender"], dei["ethnicity"], dei["disability_status"]),
        )


async def add_score(db, application_id, overall: int) -> uuid.UUID:
    interview = await create_interview(db, application_id, status="completed")
    await db.execute(
        "insert into interview_scores (interview_id, overall_score, scored_by) values (%s, %s, 'ai')",
        (interview, overall),
    )
    return interview


def years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years)
