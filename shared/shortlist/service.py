"""The shortlist (was generate-shortlist): a role's applicants ranked against its
requirements.

1. Rank deterministically, inside PostgreSQL (shared/shortlist/queries.py): the role,
   the caller's membership, then one statement that scores every applicant
   whose profile is not paused and returns only the leading ones: three
   statements whatever the number of applicants. The score (0 to 100) weighs
   required skills matched, years and relevance of experience and the best
   interview score; ties are broken by best interview score, application date,
   then id. DEI data is never read. Each leader gets reasons built from that data.
2. The model re-ranks and explains the leading group (at most 20). Its answer
   must name every leader exactly once and nothing else (checked, retried
   once). Below the group, the pre-ranking continues.
3. The candidates write their own text, so the model's answer is not taken as
   it is (shared/shortlist/rules.py): each score is clamped to SCORE_BAND points
   around the rule-based score and the group is ordered by the clamped score;
   a reason naming a skill, employer or title the candidate's data does not
   hold is dropped (the rules' reasons stand in when none is left); and a
   candidate whose own text reads as instructions to a model is flagged
   (`reviewFlags`) for a person to review.
If the model is unavailable (not configured, out of credit, rate limited,
failing), the pre-ranking is returned as is (`rankedBy: "rules"`) and the
reason is logged.
The model call is recorded in the AI decision log: one row per leader shown to
the model (the call concerns each of them), in a short transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.adapters.ports import AIModel, Database
from shared.platform.ai_usage import Payer, billed
from shared.platform.decision_log import Concerning, DecisionRecorder, OnCall
from shared.platform.errors import Forbidden, NotConfigured, NotFound, PaymentRequired, RateLimited, UpstreamError
from shared.platform.logs import log_event
from shared.platform.membership import member_role
from shared.shortlist import prompts as prompt
from shared.shortlist import queries, rules
from shared.shortlist.models import (
    MODEL_GROUP_MAX,
    ShortlistMatch,
    ShortlistRanking,
    ShortlistRequest,
    ShortlistResponse,
)

WEIGHTS = {"skills": 0.45, "interview": 0.25, "experience": 0.20, "title": 0.10}
NEUTRAL = 0.5  # a factor with no data (no required skills, no interview yet) neither helps nor hurts
FULL_EXPERIENCE_YEARS = 10
MODEL_UNAVAILABLE = (NotConfigured, PaymentRequired, RateLimited, UpstreamError)
# Words of the role's title that say nothing about the field ("Senior", "of"...).
TITLE_NOISE = sorted(
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


@dataclass
class Applicant:
    application_id: UUID
    candidate_id: UUID
    created_at: datetime
    skills: list[str]
    jobs: list[dict[str, Any]]
    best_score: int | None
    availability: str | None
    work_mode: str | None
    location: str | None
    years: float = 0.0
    score: int = 0
    matched: list[str] = field(default_factory=list)  # required skills the applicant has
    related: bool = False  # has held a job whose title shares a word with the role's


@dataclass
class Ranking:
    role: dict[str, Any]
    applicants: int  # how many were ranked (paused profiles left out)
    leaders: list[Applicant]  # the best `top`, best first


async def generate_shortlist(
    db: Database, ai: AIModel | None, user_id: UUID, request: ShortlistRequest
) -> ShortlistResponse:
    """`ai` is None when no model is configured: the rules' ranking is answered then."""
    ranking = await rank_applicants(db, user_id, request.roleId, top=max(request.limit, MODEL_GROUP_MAX))
    role = ranking.role
    shown = ranking.leaders[:MODEL_GROUP_MAX]  # the applicants the model call concerns
    decisions = DecisionRecorder(
        Concerning(candidate_ids=[a.candidate_id for a in shown], organisation_id=role["organisation_id"])
    )
    if ai is not None:  # the organisation's budget (a refusal falls back to the rules' ranking)
        ai = billed(ai, Payer(organisation_id=role["organisation_id"], user_id=user_id))
    try:
        matches, ranked_by = await _rank_leaders(ai, role, ranking.leaders, request.limit, decisions)
    finally:
        await decisions.flush(db)
    log_event(
        "shortlist.generated",
        roleId=str(role["id"]),
        applicants=ranking.applicants,
        rankedBy=ranked_by,
        returned=len(matches),
    )
    return ShortlistResponse(matches=matches, roleTitle=role["title"], rankedBy=ranked_by)


async def rank_applicants(
    db: Database, user_id: UUID, role_id: UUID, *, top: int, today: date | None = None
) -> Ranking:
    """The role (404 if missing, 403 unless the caller is a member) and its `top`
    best applicants, scored and ordered by PostgreSQL."""
    async with db.connection() as conn:
        role = await queries.role(conn, role_id)
        if role is None:
            raise NotFound("Role not found")
        if await member_role(conn, role["organisation_id"], user_id) is None:
            raise Forbidden("You are not a member of this role's organisation")
        required = required_skills(role)
        rows = await queries.ranked_applicants(
            conn,
            role_id,
            required=required,
            title=role.get("title") or "",
            title_noise=TITLE_NOISE,
            weights=WEIGHTS,
            neutral=NEUTRAL,
            full_years=FULL_EXPERIENCE_YEARS,
            today=today or date.today(),
            top=top,
        )
    leaders = [
        Applicant(
            application_id=row["application_id"],
            candidate_id=row["candidate_id"],
            created_at=row["created_at"],
            skills=row["skills"],
            jobs=[_job(j) for j in row["jobs"] or []],
            best_score=row["best_score"],
            availability=row["availability"],
            work_mode=row["work_mode"],
            location=row["state"] or row["suburb"],
            years=row["years"],
            score=row["score"],
            matched=[required[p - 1] for p in sorted(row["positions"])],
            related=row["related"],
        )
        for row in rows
    ]
    return Ranking(role=role, applicants=rows[0]["applicants"] if rows else 0, leaders=leaders)


def _job(job: dict[str, Any]) -> dict[str, Any]:
    """A position as read (JSON): its dates back to dates."""
    return {**job, "start_date": _date(job["start_date"]), "end_date": _date(job["end_date"])}


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def required_skills(role: dict[str, Any]) -> list[str]:
    requirements = role.get("requirements") or {}
    return [s for s in (requirements.get("skills") or []) if isinstance(s, str) and s.strip()]


def reasons(applicant: Applicant, required: list[str]) -> list[str]:
    """Up to four reasons, built from the applicant's data and the role's required skills."""
    matched, related = applicant.matched, applicant.related
    found = []
    if required:
        if matched:
            found.append(f"Has {len(matched)} of {len(required)} required skills: {', '.join(matched[:6])}")
        else:
            found.append(f"Lists none of the required skills ({', '.join(required[:4])})")
    elif applicant.skills:
        found.append(f"Skills: {', '.join(applicant.skills[:6])}")
    if applicant.jobs:
        latest = applicant.jobs[0]
        where = f" at {latest['company_name']}" if latest["company_name"] else ""
        relevance = " (a related role)" if related else ""
        found.append(
            f"{applicant.years:.0f} years of experience; most recently {latest['job_title']}{where}{relevance}"
        )
    else:
        found.append("No employment history on the profile")
    if applicant.best_score is not None:
        found.append(f"Best interview score {applicant.best_score}/100")
    if applicant.availability:
        found.append(f"Availability: {applicant.availability}")
    return found[:4]


# --- the model's ranking of the leading group -----------------------------------------


async def _rank_leaders(
    ai: AIModel | None, role: dict[str, Any], ranked: list[Applicant], limit: int, on_call: OnCall | None = None
) -> tuple[list[ShortlistMatch], str]:
    leaders = ranked[:MODEL_GROUP_MAX]
    if not leaders:
        return [], "rules"
    try:
        if ai is None:
            raise NotConfigured("The AI model is not configured")
        ranking = await ai.structured(
            purpose="shortlist",
            prompt_version=prompt.VERSION,
            messages=prompt.shortlist_messages(role=role, candidates=[_for_model(a) for a in leaders]),
            schema=ShortlistRanking,
            tool_name=prompt.TOOL_NAME,
            tool_description=prompt.TOOL_DESCRIPTION,
            vocabularies={"applicants": [str(a.application_id) for a in leaders]},
            check=_every_leader_once({str(a.application_id) for a in leaders}),
            on_call=on_call,
        )
    except MODEL_UNAVAILABLE as error:
        log_event(
            "shortlist.fallback",
            level=logging.WARNING,
            roleId=str(role["id"]),
            status=error.status,
            reason=error.message,
        )
        required = required_skills(role)
        return [_match(a, a.score, reasons(a, required)) for a in ranked[:limit]], "rules"
    required = required_skills(role)
    by_id = {str(a.application_id): a for a in leaders}
    group_terms = [*required, *(term for a in leaders for term in _named_facts(a))]
    role_terms = [role.get("title") or "", *required]
    matches, clamped, dropped = [], 0, 0
    for answer in ranking.rankings:
        applicant = by_id[answer.applicationId]
        score = rules.clamp_to_band(answer.matchScore, applicant.score)
        facts = rules.candidate_facts(_own_text(applicant), group_terms, role_terms)
        kept = rules.supported_reasons(answer.matchReasons, facts)
        clamped += score != answer.matchScore
        dropped += len(answer.matchReasons) - len(kept)
        matches.append(_match(applicant, score, kept or reasons(applicant, required)))
    matches.sort(key=lambda m: -m.matchScore)  # stable: within equal scores the model's order stands
    if clamped or dropped:
        log_event("shortlist.model_checked", roleId=str(role["id"]), scoresClamped=clamped, reasonsDropped=dropped)
    matches += [_match(a, a.score, reasons(a, required)) for a in ranked[len(leaders) : limit]]
    return matches[:limit], "model"


def _named_facts(applicant: Applicant) -> list[str]:
    """The skills, employers and job titles on the applicant's profile."""
    jobs = applicant.jobs[:5]
    return [*applicant.skills, *(j["company_name"] or "" for j in jobs), *(j["job_title"] or "" for j in jobs)]


def _own_text(applicant: Applicant) -> list[str | None]:
    """Everything the applicant wrote that the model is shown (see `_for_model`)."""
    return [
        *applicant.skills[:30],
        *(text for job in applicant.jobs[:5] for text in (job["job_title"], job["company_name"], job["description"])),
        applicant.availability,
        applicant.work_mode,
        applicant.location,
    ]


def _every_leader_once(expected: set[str]) -> Callable[[ShortlistRanking], None]:
    def check(ranking: ShortlistRanking) -> None:
        given = [r.applicationId for r in ranking.rankings]
        unknown = sorted(set(given) - expected)
        repeated = sorted({i for i in given if given.count(i) > 1})
        missing = sorted(expected - set(given))
        problems = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("unknown applicationIds", unknown),
                ("ranked more than once", repeated),
                ("not ranked", missing),
            )
            if ids
        ]
        if problems:
            raise ValueError("Rank every candidate exactly once; " + "; ".join(problems))

    return check


def _for_model(applicant: Applicant) -> dict[str, Any]:
    """Job-relevant facts only: no names, contact details or DEI data."""
    return {
        "applicationId": str(applicant.application_id),
        "rule_score": applicant.score,
        "skills": applicant.skills[:30],
        "years_of_experience": round(applicant.years, 1),
        "employment": [
            {
                "title": job["job_title"],
                "company": job["company_name"],
                "from": job["start_date"],
                "to": None if job["is_current"] else job["end_date"],
                "summary": job["description"] or "",
            }
            for job in applicant.jobs[:5]
        ],
        "best_interview_score": applicant.best_score,
        "availability": applicant.availability,
        "work_mode": applicant.work_mode,
        "location": applicant.location,
    }


def _match(applicant: Applicant, score: int, reasons: list[str]) -> ShortlistMatch:
    latest = applicant.jobs[0] if applicant.jobs else None
    experience = ""
    if latest:
        experience = latest["job_title"] + (f": {latest['description']}" if latest["description"] else "")
    return ShortlistMatch(
        applicationId=applicant.application_id,
        candidateId=applicant.candidate_id,
        matchScore=score,
        matchReasons=list(reasons),
        skills=applicant.skills[:15],
        experience=experience[:240],
        availability=applicant.availability,
        workMode=applicant.work_mode,
        location=applicant.location,
        reviewFlags=rules.review_flags(_own_text(applicant)),
    )
