"""The reports' SQL (parameterised)."""

from __future__ import annotations

from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one

# --- the AI decision log ---------------------------------------------------------------


async def organisation_exists(conn: Conn, organisation_id: Id) -> bool:
    row = await fetch_one(conn, "select 1 as found from public.organisations where id = %s", (organisation_id,))
    return row is not None


async def interview_organisation(conn: Conn, interview_id: Id) -> Id | None:
    """The organisation whose role the interview is for, or None for no such interview."""
    row = await fetch_one(
        conn,
        """select r.organisation_id from public.interviews i
             join public.applications a on a.id = i.application_id
             join public.job_roles r on r.id = a.job_role_id
            where i.id = %s""",
        (interview_id,),
    )
    return row["organisation_id"] if row else None


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
