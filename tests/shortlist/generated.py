"""Generated applicants for comparing the ranking with the reference: many ties
(same score, same best interview score, same application time), half-point
scores, spellings of one skill, titles with noise words and non-ASCII capitals,
missing profiles, skills, interviews and employment, paused profiles, DEI rows,
future and backwards dates, and candidates who also applied to another role."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from shared.platform.db import jsonb

TODAY = date(2026, 6, 15)

SKILLS = [
    "React",
    "React.js",
    "ReactJS",
    "react",
    "REACT",
    "TypeScript",
    "typescript",
    "Node.js",
    "node",
    "NodeJS",
    "C++",
    "C#",
    "C",
    "c",
    "GraphQL",
    "Go",
    "golang",
    "Python",
    "SQL",
    "Accessibility",
    "a11y",
    "ejs",
    "Vue.js",
    "!!!",
    "Experience with Node.js",
    "\u0130stanbul",
    "istanbul",
    "\u212aubernetes",
    "kubernetes",
    "Docker ",
    "Caf\u00e9",
    "\u00dcn\u00efcode",
    "data-analysis",
    "Data Analysis",
    "\u0391\u03a3\u03a3",
]
TITLES = [
    "Senior Frontend Developer",
    "Frontend Engineer",
    "Front-end Engineer",
    "Data Analyst",
    "Chef",
    "Lead",
    "Staff Engineer II",
    "\u0130nstructor",
    "instructor",
    "Head of Data",
    "Barista",
    "Software Engineer (React)",
    "QA",
    "\u212aitchen hand",
    "Engineer\u00a0of\u00a0things",
]
CREATED = [datetime(2026, 5, day, 9, 30, tzinfo=UTC) for day in (1, 2, 3)]

# Roles: (title, requirements)
ROLES = {
    "frontend": ("Senior Frontend Engineer", {"skills": ["React", "TypeScript", "GraphQL", "Accessibility"]}),
    "no required skills": ("Data Analyst", {"experience": ["3 years"]}),
    "spellings and duplicates": (
        "The Lead of \u0130nstructors and \u212aitchens",
        {
            "skills": [
                "React.js",
                "Experience with Node.js",
                "C++",
                "React",
                "---",
                "ejs",
                "\u0130stanbul",
                "\u212aubernetes",
            ]
        },
    ),
    "noise-only title, odd skills": ("Senior Lead", {"skills": [1, "", "  ", "Go", None, "\u3000", "SQL"]}),
}


async def seed_role(
    db, org_id, title: str, requirements: dict, applicants: int, seed: int, also_applied: list[uuid.UUID] = ()
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A role with `applicants` generated applications (plus one for each of
    `also_applied`, candidates who exist already); returns the role and its candidates."""
    rng = random.Random(seed)
    role = (
        await db.fetch_one(
            """insert into job_roles (organisation_id, title, requirements, status)
           values (%s, %s, %s::jsonb, 'draft') returning id""",
            (org_id, title, jsonb(requirements)),
        )
    )["id"]
    users, profiles, skills, jobs, dei = [], [], [], [], []
    applications, interviews, scores = [], [], []
    candidates = [uuid.uuid4() for _ in range(applicants)]
    for n, user in enumerate(candidates):
        users.append((user, f"{user.hex[:10]}@example.test"))
        kind = rng.random()
        if kind > 0.1:  # one in ten has no profile row at all (not paused)
            paused = datetime(2026, 4, 1, tzinfo=UTC) if rng.random() < 0.12 else None
            profiles.append(
                (
                    user,
                    f"Name {n}",
                    rng.choice(["NSW", "", None]),
                    rng.choice(["Sydney", "", None]),
                    rng.choice([None, "2 weeks notice"]),
                    rng.choice([None, "hybrid"]),
                    paused,
                )
            )
        for name in rng.sample(SKILLS, rng.choice([0, 0, 1, 2, 3, 4, 6])):
            skills.append((user, name))
        if rng.random() < 0.05 and skills and skills[-1][0] == user:
            skills.append(skills[-1])  # the same skill twice
        starts: set[date] = set()
        for _ in range(rng.choice([0, 0, 0, 1, 2, 3, 4])):
            start = TODAY - timedelta(days=rng.randint(-200, 30 * 365))
            if start in starts:
                continue  # positions of one person never start the same day (their order would be arbitrary)
            starts.add(start)
            end = rng.choice([None, start + timedelta(days=rng.randint(-100, 3000))])
            jobs.append(
                (
                    user,
                    rng.choice(TITLES),
                    rng.choice(["Acme", ""]),
                    start,
                    end,
                    rng.choice([True, False, None]),
                    rng.choice([None, "Built things. " * rng.randint(1, 40)]),
                )
            )
        if rng.random() < 0.5:
            dei.append((user, "dei-gender-marker", "dei-ethnicity-marker", "dei-disability-marker"))
    everyone = [*candidates, *also_applied]
    if everyone:
        everyone.append(everyone[0])  # one candidate applied twice
    for user in everyone:
        application = uuid.uuid4()
        applications.append((application, user, rng.choice(CREATED)))
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            interview = uuid.uuid4()
            interviews.append((interview, application))
            if rng.random() < 0.8:
                scores.append((interview, rng.choice([None, *range(0, 101, 2), *range(40, 60)])))
    async with db.transaction() as conn:
        await conn.execute(
            "insert into auth.users (id, email) select * from unnest(%s::uuid[], %s::text[])", _columns(users, 2)
        )
        await conn.execute(
            """insert into candidate_profiles (user_id, first_name, state, suburb, availability, work_mode, paused_at)
               select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                                    %s::timestamptz[])""",
            _columns(profiles, 7),
        )
        await conn.execute(
            """insert into candidate_skills (user_id, skill_name, skill_type)
               select u, s, 'hard' from unnest(%s::uuid[], %s::text[]) x(u, s)""",
            _columns(skills, 2),
        )
        await conn.execute(
            """insert into employment_history (user_id, job_title, company_name, start_date, end_date, is_current,
                                               description)
               select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::date[], %s::date[], %s::bool[],
                                    %s::text[])""",
            _columns(jobs, 7),
        )
        await conn.execute(
            """insert into candidate_dei (user_id, gender, ethnicity, disability_status)
               select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[])""",
            _columns(dei, 4),
        )
        await conn.execute(
            """insert into applications (id, job_role_id, candidate_id, created_at)
               select i, %s, c, t from unnest(%s::uuid[], %s::uuid[], %s::timestamptz[]) x(i, c, t)""",
            (role, *_columns(applications, 3)),
        )
        await conn.execute(
            """insert into interviews (id, application_id, status)
               select i, a, 'completed' from unnest(%s::uuid[], %s::uuid[]) x(i, a)""",
            _columns(interviews, 2),
        )
        await conn.execute(
            """insert into interview_scores (interview_id, overall_score, scored_by)
               select i, s, 'ai' from unnest(%s::uuid[], %s::int[]) x(i, s)""",
            _columns(scores, 2),
        )
    return role, candidates


def _columns(rows: list[tuple], width: int) -> tuple[list, ...]:
    return tuple([row[i] for row in rows] for i in range(width))
