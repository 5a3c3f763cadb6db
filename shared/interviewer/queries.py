"""The interviewer's queries: whose interview it is, and saving a turn's transcript."""

from __future__ import annotations

from shared.platform.db import Conn, Id, Row, fetch_one


async def interview_candidate(conn: Conn, interview_id: Id) -> Row | None:
    """The interview's candidate (`candidate_id`) and `started_at`, or None."""
    return await fetch_one(
        conn,
        """select i.id, a.candidate_id, i.started_at
             from public.interviews i join public.applications a on a.id = i.application_id
            where i.id = %s""",
        (interview_id,),
    )


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
