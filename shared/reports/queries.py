"""The reports' SQL, parameterised. The bias audit's rows carry self-identification
as stored (free text) and no id of a person: the service maps it to categories and
keeps aggregates. The decision log's rows hold ids, versions and hashes, never text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one


async def organisation_exists(conn: Conn, organisation_id: Id) -> bool:
    return await fetch_one(conn, "select 1 from public.organisations where id = %s", (organisation_id,)) is not None


async def applied_to_organisation(conn: Conn, organisation_id: Id, user_id: Id) -> bool:
    """Whether the user has an application to one of the organisation's roles (a
    candidate who knows the organisation: refused, not told it does not exist)."""
    row = await fetch_one(
        conn,
        """select 1 from public.applications a
             join public.job_roles r on r.id = a.job_role_id
            where r.organisation_id = %s and a.candidate_id = %s
            limit 1""",
        (organisation_id, user_id),
    )
    return row is not None


async def role_in_organisation(conn: Conn, role_id: Id, organisation_id: Id) -> bool:
    row = await fetch_one(
        conn, "select 1 from public.job_roles where id = %s and organisation_id = %s", (role_id, organisation_id)
    )
    return row is not None


# One row per (candidate, role) with a scored interview in the period: the latest
# score (by the time it was first saved) when there are several. The period bounds
# are half-open timestamps, [start, end), or null for "no bound".
SCORED_SQL = """
select distinct on (a.candidate_id, a.job_role_id)
       d.gender, d.ethnicity, s.overall_score
  from public.interview_scores s
  join public.interviews i on i.id = s.interview_id
  join public.applications a on a.id = i.application_id
  join public.job_roles r on r.id = a.job_role_id
  left join public.candidate_dei d on d.user_id = a.candidate_id
 where r.organisation_id = %(organisation)s
   and (%(role)s::uuid is null or r.id = %(role)s::uuid)
   and s.overall_score is not null
   and (%(start)s::timestamptz is null or s.created_at >= %(start)s::timestamptz)
   and (%(end)s::timestamptz is null or s.created_at < %(end)s::timestamptz)
 order by a.candidate_id, a.job_role_id, s.created_at desc, s.id desc
"""

# One row per (candidate, role) that applied in the period: the latest application
# when a candidate applied to one role more than once.
APPLICANTS_SQL = """
select distinct on (a.candidate_id, a.job_role_id)
       d.gender, d.ethnicity, a.status
  from public.applications a
  join public.job_roles r on r.id = a.job_role_id
  left join public.candidate_dei d on d.user_id = a.candidate_id
 where r.organisation_id = %(organisation)s
   and (%(role)s::uuid is null or r.id = %(role)s::uuid)
   and (%(start)s::timestamptz is null or a.created_at >= %(start)s::timestamptz)
   and (%(end)s::timestamptz is null or a.created_at < %(end)s::timestamptz)
 order by a.candidate_id, a.job_role_id, a.created_at desc, a.id desc
"""


def _params(organisation_id: Id, role_id: Id | None, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    return {"organisation": organisation_id, "role": role_id, "start": start, "end": end}


async def scored_candidates(
    conn: Conn, organisation_id: Id, role_id: Id | None, start: datetime | None, end: datetime | None
) -> list[Row]:
    return await fetch_all(conn, SCORED_SQL, _params(organisation_id, role_id, start, end))


async def applicants(
    conn: Conn, organisation_id: Id, role_id: Id | None, start: datetime | None, end: datetime | None
) -> list[Row]:
    return await fetch_all(conn, APPLICANTS_SQL, _params(organisation_id, role_id, start, end))


# --- the AI decision log ---------------------------------------------------------------


async def ai_decisions_page(
    conn: Conn, organisation_id: Id, interview_id: Id | None, before: int | None, limit: int
) -> list[Row]:
    """The organisation's decision-log rows (optionally one interview's), newest first
    (log order: id), older than `before` when given."""
    return await fetch_all(
        conn,
        """select id, call_id, occurred_at, purpose, organisation_id, candidate_id, interview_id, model,
                  prompt_version, rubric_version, input_sha256, outcome, input_tokens, output_tokens, latency_ms
             from app.ai_decisions
            where organisation_id = %(org)s
              and (%(interview)s::uuid is null or interview_id = %(interview)s::uuid)
              and (%(before)s::bigint is null or id < %(before)s::bigint)
            order by id desc
            limit %(limit)s""",
        {"org": organisation_id, "interview": interview_id, "before": before, "limit": limit},
    )


# --- AI usage ----------------------------------------------------------------------------


async def ai_usage_by_day(conn: Conn, organisation_id: Id, lower: Any, upper: Any) -> list[Row]:
    """The organisation's model calls in [lower, upper), per UTC day and purpose."""
    return await fetch_all(
        conn,
        """select (occurred_at at time zone 'UTC')::date as day, purpose, count(*) as calls,
                  coalesce(sum(input_tokens), 0) as input_tokens, coalesce(sum(output_tokens), 0) as output_tokens,
                  coalesce(sum(estimated_cost), 0) as cost
             from app.ai_usage
            where organisation_id = %(org)s and occurred_at >= %(lower)s and occurred_at < %(upper)s
            group by 1, 2
            order by 1, 2""",
        {"org": organisation_id, "lower": lower, "upper": upper},
    )
