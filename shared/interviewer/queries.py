"""The interviewer's queries: the interview as the database knows it (its
candidate, role, organisation and transcript so far), and saving a turn."""

from __future__ import annotations

from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one

_INTERVIEW = """
select i.id, a.candidate_id, i.status::text as status, now() as checked_at,
       coalesce(i.started_at, t.first_at) as opened_at,
       coalesce(t.answers, 0) as answers_saved,
       coalesce(t.candidate_chars, 0) as candidate_chars,
       coalesce(t.transcript_chars, 0) as transcript_chars,
       r.title as role_title, r.description as role_description, r.requirements as role_requirements,
       o.id as organisation_id, o.name as organisation_name, o.values_framework as organisation_values
  from public.interviews i
  join public.applications a on a.id = i.application_id
  join public.job_roles r on r.id = a.job_role_id
  join public.organisations o on o.id = r.organisation_id
  left join lateral (
      select count(*) filter (where s.speaker = 'candidate') as answers,
             sum(length(s.content)) filter (where s.speaker = 'candidate') as candidate_chars,
             sum(length(s.content)) as transcript_chars,
             min(s.created_at - s.start_time_ms * interval '1 millisecond') as first_at
        from public.transcript_segments s where s.interview_id = i.id) t on true
 where i.id = %s"""


async def interview_for_turn(conn: Conn, interview_id: Id) -> Row | None:
    """The interview with its candidate, status, role, organisation and transcript
    totals, or None."""
    return await fetch_one(conn, _INTERVIEW, (interview_id,))


async def transcript(conn: Conn, interview_id: Id) -> list[Row]:
    """The interview's saved segments, oldest first (the conversation so far)."""
    return await fetch_all(
        conn,
        """select speaker, content from public.transcript_segments
            where interview_id = %s order by start_time_ms, created_at, id""",
        (interview_id,),
    )


async def interview_for_saving(conn: Conn, interview_id: Id) -> Row | None:
    """The same, with the interview row locked until the transaction ends, so two
    turns saved at once are checked one after the other."""
    return await fetch_one(conn, _INTERVIEW + "\n   for update of i", (interview_id,))


async def save_turn_transcript(
    conn: Conn, interview_id: Id, *, candidate_text: str | None, reply: str, turn_ms: int
) -> None:
    """Append the candidate's answer (when there is one) and the interviewer's reply.

    Times are the database's clock: the reply at now(), the answer `turn_ms`
    earlier (when the request arrived), both in ms from the interview's
    `started_at`; before the call has started, from the origin of the segments
    already saved, or from this answer for the first turn. The reply always
    sorts after the answer."""
    await conn.execute(
        """with origin as (
               select coalesce(
                   i.started_at,
                   (select min(s.created_at - s.start_time_ms * interval '1 millisecond')
                      from public.transcript_segments s where s.interview_id = i.id),
                   now() - %(turn_ms)s * interval '1 millisecond') as t0
                 from public.interviews i where i.id = %(interview)s),
           times as (
               select greatest(0, round(extract(epoch from (now() - %(turn_ms)s * interval '1 millisecond' - t0)) * 1000))::int
                          as answer_ms,
                      greatest(0, round(extract(epoch from (now() - t0)) * 1000))::int as reply_ms
                 from origin)
           insert into public.transcript_segments (interview_id, speaker, content, start_time_ms)
           select %(interview)s, 'candidate', %(answer)s::text, answer_ms from times where %(answer)s::text is not null
           union all
           select %(interview)s, 'ai', %(reply)s::text, greatest(reply_ms, answer_ms + 1) from times""",
        {"interview": interview_id, "answer": candidate_text, "reply": reply, "turn_ms": max(0, int(turn_ms))},
    )
