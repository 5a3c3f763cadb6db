"""Scoring's queries: the interview with its role, organisation and transcript;
interview_scores and score_dimensions (one score row per interview, its
dimensions replaced as a set); the application's move to 'interviewed'."""

from __future__ import annotations

from typing import Any

from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one, jsonb

SCORE_COLUMNS = (
    "s.overall_score, s.narrative_summary, s.candidate_feedback, s.anti_cheat_risk_level, s.scored_by, "
    "s.model_version, s.prompt_version, s.rubric_version, s.human_override"
)

# The interview's latest review (app.score_reviews, 011_score_reviews.sql), if any.
LATEST_REVIEW = """select r.id, r.decision, r.reviewer_id, r.created_at from app.score_reviews r
                    where r.interview_id = {interview} order by r.created_at desc, r.id desc limit 1"""


async def score_of(conn: Conn, interview_id: Id, *, lock: bool = False) -> Row | None:
    """The score row with its latest review (review_decision, review_reviewer_id,
    review_at: null when no person reviewed it); with `lock`, the score row stays
    locked until the transaction ends (reviews and the AI's upsert queue on it)."""
    return await fetch_one(
        conn,
        f"""select {SCORE_COLUMNS}, s.human_override_by, r.decision as review_decision,
                   r.reviewer_id as review_reviewer_id, r.created_at as review_at
              from public.interview_scores s
              left join lateral ({LATEST_REVIEW.format(interview="s.interview_id")}) r on true
             where s.interview_id = %s"""
        + (" for no key update of s" if lock else ""),
        (interview_id,),
    )


async def dimensions_of(conn: Conn, interview_id: Id) -> list[Row]:
    return await fetch_all(
        conn,
        """select dimension, score, weight, evidence, cited_quotes from public.score_dimensions
            where interview_id = %s order by weight desc nulls last, dimension""",
        (interview_id,),
    )


# The AI's upsert: never touches a row a person has overridden (and so, in the
# database's trigger of 009_human_overrides.sql, never makes or audits an override),
# nor one whose latest review confirmed it (a person checked that score: a rescore
# would replace what they checked).
UPSERT_AI_SCORE_SQL = (
    """insert into public.interview_scores
       (interview_id, overall_score, narrative_summary, candidate_feedback, anti_cheat_risk_level,
        scored_by, model_version, prompt_version, rubric_version)
   values (%(interview_id)s, %(overall_score)s, %(narrative_summary)s, %(candidate_feedback)s,
           %(anti_cheat_risk_level)s, 'ai', %(model_version)s, %(prompt_version)s, %(rubric_version)s)
   on conflict (interview_id) do update set
       overall_score = excluded.overall_score, narrative_summary = excluded.narrative_summary,
       candidate_feedback = excluded.candidate_feedback,
       anti_cheat_risk_level = excluded.anti_cheat_risk_level, scored_by = 'ai',
       model_version = excluded.model_version, prompt_version = excluded.prompt_version,
       rubric_version = excluded.rubric_version, updated_at = now()
     where not coalesce(public.interview_scores.human_override, false)
       and not exists (select 1 from ("""
    + LATEST_REVIEW.format(interview="public.interview_scores.interview_id")
    + """) latest
                        where latest.decision = 'confirm')
   returning id"""
)


async def upsert_ai_score(conn: Conn, interview_id: Id, score: dict[str, Any]) -> bool:
    """Insert or update the interview's score row; False (and nothing written)
    when a person has overridden or confirmed it. Concurrent writers queue on the unique key."""
    row = await fetch_one(
        conn,
        UPSERT_AI_SCORE_SQL,
        {"interview_id": interview_id, **score},
    )
    return row is not None


async def replace_dimensions(conn: Conn, interview_id: Id, dimensions: list[dict[str, Any]]) -> None:
    await conn.execute("delete from public.score_dimensions where interview_id = %s", (interview_id,))
    await conn.execute(
        """insert into public.score_dimensions (interview_id, dimension, score, weight, evidence, cited_quotes)
           select %s, d.dimension, d.score, d.weight, d.evidence, d.cited_quotes
             from jsonb_to_recordset(%s::jsonb)
                  as d(dimension text, score numeric, weight numeric, evidence text, cited_quotes jsonb)""",
        (interview_id, jsonb(dimensions)),
    )


# Statuses an application passes through before a decision; only these become
# 'interviewed' (a shortlisted, rejected or hired application never moves back).
APPLICATION_STATUSES_BEFORE_INTERVIEWED = ("applied", "screening", "invited", "interviewing")


async def interview_with_role(conn: Conn, interview_id: Id) -> Row | None:
    """The interview with its application, job role and organisation, or None.
    `candidate_erased`: the candidate asked to be anonymised or deleted."""
    return await fetch_one(
        conn,
        """select i.id as interview_id, a.id as application_id, a.candidate_id,
                  r.title as role_title, r.description as role_description,
                  r.requirements as role_requirements, r.scoring_rubric as role_scoring_rubric,
                  r.organisation_id, o.values_framework as organisation_values,
                  exists (select 1 from public.data_deletion_requests d
                           where d.user_id = a.candidate_id
                             and d.request_type in ('anonymize', 'full_deletion')) as candidate_erased
             from public.interviews i
             join public.applications a on a.id = i.application_id
             join public.job_roles r on r.id = a.job_role_id
             join public.organisations o on o.id = r.organisation_id
            where i.id = %s""",
        (interview_id,),
    )


async def transcript_of(conn: Conn, interview_id: Id) -> list[Row]:
    """The interview's stored transcript segments, in spoken order."""
    return await fetch_all(
        conn,
        """select speaker, content, start_time_ms from public.transcript_segments
            where interview_id = %s order by start_time_ms, created_at, id""",
        (interview_id,),
    )


async def has_transcript(conn: Conn, interview_id: Id, *, lock: bool = False) -> bool:
    """Whether the interview has stored transcript segments; with `lock`, the interview row
    stays locked until the transaction ends (writers of its transcript queue on it)."""
    row = await fetch_one(
        conn,
        """select exists (select 1 from public.transcript_segments t where t.interview_id = i.id) as stored
             from public.interviews i where i.id = %s"""
        + (" for no key update" if lock else ""),
        (interview_id,),
    )
    return bool(row and row["stored"])


async def insert_transcript(conn: Conn, interview_id: Id, turns: list[dict[str, Any]]) -> None:
    await conn.execute(
        """insert into public.transcript_segments (interview_id, speaker, content, start_time_ms)
           select %s, t.speaker, t.content, t.start_time_ms
             from jsonb_to_recordset(%s::jsonb) as t(speaker text, content text, start_time_ms integer)""",
        (interview_id, jsonb(turns)),
    )


async def mark_application_interviewed(conn: Conn, application_id: Id) -> None:
    await conn.execute(
        "update public.applications set status = 'interviewed' where id = %s and status = any(%s)",
        (application_id, list(APPLICATION_STATUSES_BEFORE_INTERVIEWED)),
    )


# --- human review (POST /api/ai/score/{interviewId}/review) -------------------------------


async def insert_review(conn: Conn, review: dict[str, Any]) -> Row:
    row = await fetch_one(
        conn,
        """insert into app.score_reviews
               (interview_id, organisation_id, reviewer_id, decision, previous_score, new_score, reason)
           values (%(interview_id)s, %(organisation_id)s, %(reviewer_id)s, %(decision)s, %(previous_score)s,
                   %(new_score)s, %(reason)s)
           returning id, created_at""",
        review,
    )
    assert row is not None
    return row


async def override_score(conn: Conn, interview_id: Id, score: int, reason: str, reviewer: Id) -> None:
    """A person's score: human_override_by names the reviewer, and the trigger of
    009_human_overrides.sql sets scored_by and writes the audit entry (a backend
    write has no JWT, so the trigger reads the reviewer from human_override_by)."""
    await conn.execute(
        """update public.interview_scores
              set human_override = true, overall_score = %s, human_override_reason = %s,
                  human_override_by = %s, scored_by = %s, updated_at = now()
            where interview_id = %s""",
        (score, reason, reviewer, str(reviewer), interview_id),
    )
