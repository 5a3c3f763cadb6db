"""The shortlist's loading and pre-ranking as they were before the ranking moved
into PostgreSQL, frozen as the reference the new ranking must equal (tests) and
the "before" column of benchmarks/bench_shortlist.py. Do not change it to make
a comparison pass: it is the definition of the expected order and scores.

Five statements (role, membership, applicants with best score, skills,
employment); every applicant is turned into Python objects and scored here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from uuid import UUID

from shared.platform.db import fetch_all, fetch_one
from shared.platform.membership import member_role

WEIGHTS = {"skills": 0.45, "interview": 0.25, "experience": 0.20, "title": 0.10}
NEUTRAL = 0.5
FULL_EXPERIENCE_YEARS = 10
TITLE_NOISE = frozenset(
    [
        "senior",
        "junior",
        "lead",
        "principal",
        "staff",
        "head",
        "chief",
        "mid",
        "level",
        "graduate",
        "intern",
        "associate",
        "the",
        "of",
        "and",
        "a",
        "an",
        "for",
        "in",
        "at",
        "to",
        "with",
        "i",
        "ii",
        "iii",
    ]
)
_NON_WORD = re.compile(r"[^a-z0-9+#]+")

_APPLICANTS_OF_ROLE = """
    select a.candidate_id from public.applications a
      left join public.candidate_profiles p on p.user_id = a.candidate_id
     where a.job_role_id = %(role)s and p.paused_at is null"""


@dataclass
class Applicant:
    application_id: UUID
    candidate_id: UUID
    created_at: datetime
    skills: list[str]
    jobs: list[dict]
    best_score: int | None
    availability: str | None
    work_mode: str | None
    location: str | None
    years: float = 0.0
    score: int = 0
    matched: list[str] = field(default_factory=list)
    related: bool = False


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


async def load_applicants(db, user_id, role_id) -> tuple[dict, list[Applicant]]:
    async with db.connection() as conn:
        role = await fetch_one(
            conn,
            """select id, organisation_id, title, description, requirements, location,
                                               work_type from public.job_roles where id = %s""",
            (role_id,),
        )
        if role is None:
            raise NotFound(role_id)
        if await member_role(conn, role["organisation_id"], user_id) is None:
            raise Forbidden(user_id)
        rows = await fetch_all(
            conn,
            """select a.id as application_id, a.candidate_id, a.created_at,
                      p.availability, p.work_mode, p.suburb, p.state,
                      best.overall_score as best_score
                 from public.applications a
                 left join public.candidate_profiles p on p.user_id = a.candidate_id
                 left join lateral (
                      select max(s.overall_score) as overall_score
                        from public.interviews i join public.interview_scores s on s.interview_id = i.id
                       where i.application_id = a.id) best on true
                where a.job_role_id = %(role)s and p.paused_at is null
                order by a.created_at, a.id""",
            {"role": role_id},
        )
        if not rows:
            return role, []
        skill_rows = await fetch_all(
            conn,
            f"""select s.user_id, array_agg(s.skill_name order by s.skill_name) as skills
                  from public.candidate_skills s
                 where s.user_id in ({_APPLICANTS_OF_ROLE})
                 group by s.user_id""",
            {"role": role_id},
        )
        job_rows = await fetch_all(
            conn,
            f"""select e.user_id, e.job_title, e.company_name, left(e.description, 300) as description,
                       e.start_date, e.end_date, e.is_current
                  from public.employment_history e
                 where e.user_id in ({_APPLICANTS_OF_ROLE})
                 order by e.user_id, e.is_current desc, e.start_date desc""",
            {"role": role_id},
        )
    skills = {row["user_id"]: row["skills"] for row in skill_rows}
    jobs: dict = {}
    for row in job_rows:
        jobs.setdefault(row.pop("user_id"), []).append(row)
    return role, [
        Applicant(
            application_id=row["application_id"],
            candidate_id=row["candidate_id"],
            created_at=row["created_at"],
            skills=skills.get(row["candidate_id"], []),
            jobs=jobs.get(row["candidate_id"], []),
            best_score=row["best_score"],
            availability=row["availability"],
            work_mode=row["work_mode"],
            location=row["state"] or row["suburb"],
        )
        for row in rows
    ]


def pre_rank(role: dict, applicants: list[Applicant], today: date | None = None) -> list[Applicant]:
    today = today or date.today()
    required = required_skills(role)
    required_terms = [(skill, canonical(skill), {canonical(w) for w in words(skill)}) for skill in required]
    title_words = {w for w in words(role.get("title") or "") if w not in TITLE_NOISE}
    for applicant in applicants:
        _score(applicant, required_terms, title_words, today)
    return sorted(
        applicants,
        key=lambda a: (
            -a.score,
            -(a.best_score if a.best_score is not None else -1),
            a.created_at,
            str(a.application_id),
        ),
    )


def required_skills(role: dict) -> list[str]:
    requirements = role.get("requirements") or {}
    return [s for s in (requirements.get("skills") or []) if isinstance(s, str) and s.strip()]


def _score(applicant: Applicant, required_terms, title_words: set[str], today: date) -> None:
    owned = {canonical(skill) for skill in applicant.skills}
    applicant.matched = [skill for skill, whole, words_ in required_terms if whole in owned or owned & words_]
    skills_factor = len(applicant.matched) / len(required_terms) if required_terms else NEUTRAL
    applicant.years = _years_of_experience(applicant.jobs, today)
    experience_factor = min(applicant.years, FULL_EXPERIENCE_YEARS) / FULL_EXPERIENCE_YEARS
    applicant.related = bool(title_words) and any(
        title_words.intersection(words(job["job_title"] or "")) for job in applicant.jobs
    )
    interview_factor = applicant.best_score / 100 if applicant.best_score is not None else NEUTRAL
    applicant.score = round(
        100
        * (
            WEIGHTS["skills"] * skills_factor
            + WEIGHTS["interview"] * interview_factor
            + WEIGHTS["experience"] * experience_factor
            + WEIGHTS["title"] * applicant.related
        )
    )


def _years_of_experience(jobs: list[dict], today: date) -> float:
    days = 0
    for job in jobs:
        start = job["start_date"]
        end = today if job["is_current"] or job["end_date"] is None else job["end_date"]
        if start and end and end > start:
            days += (min(end, today) - start).days
    return min(days / 365.25, 50.0)


@lru_cache(maxsize=8192)
def words(text: str) -> tuple[str, ...]:
    return tuple(_NON_WORD.sub(" ", text.lower()).split())


@lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    squashed = _NON_WORD.sub("", text.lower())
    return squashed[:-2] if squashed.endswith("js") and len(squashed) > 4 else squashed
