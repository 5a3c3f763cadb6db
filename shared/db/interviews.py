"""Queries about interviews, applications and roles (shared by every feature)."""

from __future__ import annotations

from shared.db import fetch_all, fetch_one, jsonb

# --- Calls (issue 5): finding and updating an interview from ACS events ---

INTERVIEW_CALL_COLUMNS = ("id, status::text as status, started_at, ended_at, duration_seconds, recording_url, "
                          "recording_deleted_at, metadata")
_CALL_UPDATABLE = frozenset({"status", "started_at", "ended_at", "duration_seconds", "recording_url", "metadata"})


async def interview_id_for_call(conn, server_call_id: str | None, correlation_id: str | None):
    """The interview whose metadata names this call (serverCallId first, then correlationId)."""
    if not (server_call_id or correlation_id):
        return None
    row = await fetch_one(
        conn,
        """select id from public.interviews
           where metadata ->> 'serverCallId' = %(server)s or metadata ->> 'correlationId' = %(correlation)s
           order by (metadata ->> 'serverCallId' = %(server)s) desc nulls last, created_at
           limit 1""",
        {"server": server_call_id, "correlation": correlation_id},
    )
    return row["id"] if row else None


async def interview_for_update(conn, interview_id) -> dict | None:
    """The interview's call fields, row-locked until the transaction ends."""
    return await fetch_one(conn, f"select {INTERVIEW_CALL_COLUMNS} from public.interviews where id = %s for update",
                           (interview_id,))


async def may_join_interview_call(conn, interview_id, communication_user_id: str) -> bool:
    """Whether this ACS identity belongs to the interview's candidate or to a member
    of the organisation that owns the interview's role."""
    row = await fetch_one(
        conn,
        """select exists (
               select 1
               from public.interviews i
               join public.applications a on a.id = i.application_id
               join public.job_roles r on r.id = a.job_role_id
               join app.acs_identities ai on ai.communication_user_id = %(acs)s
               where i.id = %(interview)s
                 and (ai.user_id = a.candidate_id
                      or exists (select 1 from public.org_users ou
                                 where ou.organisation_id = r.organisation_id and ou.user_id = ai.user_id))
           ) as allowed""",
        {"interview": interview_id, "acs": communication_user_id},
    )
    return bool(row and row["allowed"])


async def update_interview_call(conn, interview_id, changes: dict) -> None:
    """Write the given call fields (metadata as a whole document: the caller holds the row lock)."""
    unknown = set(changes) - _CALL_UPDATABLE
    if unknown:
        raise ValueError(f"not updatable here: {sorted(unknown)}")
    if not changes:
        return
    assignments = ", ".join(
        f"{name} = %({name})s::jsonb" if name == "metadata"
        else f"{name} = %({name})s::public.interview_status" if name == "status"
        else f"{name} = %({name})s"
        for name in changes)
    values = {**changes, "interview_id": interview_id}
    if "metadata" in values:
        values["metadata"] = jsonb(values["metadata"])
    await conn.execute(f"update public.interviews set {assignments} where id = %(interview_id)s", values)


# --- Scoring (issue 4): the interview with its role, organisation and transcript ---

# Statuses an application passes through before a decision; only these become
# 'interviewed' (a shortlisted, rejected or hired application never moves back).
APPLICATION_STATUSES_BEFORE_INTERVIEWED = ("applied", "screening", "invited", "interviewing")


async def interview_with_role(conn, interview_id) -> dict | None:
    """The interview with its application, job role and organisation, or None."""
    return await fetch_one(
        conn,
        """select i.id as interview_id, a.id as application_id,
                  r.title as role_title, r.description as role_description,
                  r.requirements as role_requirements, r.scoring_rubric as role_scoring_rubric,
                  r.organisation_id, o.values_framework as organisation_values
             from public.interviews i
             join public.applications a on a.id = i.application_id
             join public.job_roles r on r.id = a.job_role_id
             join public.organisations o on o.id = r.organisation_id
            where i.id = %s""",
        (interview_id,),
    )


async def transcript_of(conn, interview_id) -> list[dict]:
    """The interview's stored transcript segments, in spoken order."""
    return await fetch_all(
        conn,
        """select speaker, content, start_time_ms from public.transcript_segments
            where interview_id = %s order by start_time_ms, created_at, id""",
        (interview_id,),
    )


async def mark_application_interviewed(conn, application_id) -> None:
    await conn.execute(
        "update public.applications set status = 'interviewed' where id = %s and status = any(%s)",
        (application_id, list(APPLICATION_STATUSES_BEFORE_INTERVIEWED)),
    )


# --- Invitations (issue 6): the application being invited to ---

# An invitation moves these to 'invited'; later statuses record progress or a
# decision that a (re)sent invitation must not erase.
APPLICATION_STATUSES_BEFORE_INVITED = ("applied", "screening")


async def application_for_invitation(conn, application_id, *, lock: bool = False) -> dict | None:
    """The application with its role title, organisation and the candidate's profile email."""
    return await fetch_one(
        conn,
        f"""select a.id, a.candidate_id, a.status, r.title as role_title, r.organisation_id,
                   o.name as organisation_name, p.email as profile_email
              from public.applications a
              join public.job_roles r on r.id = a.job_role_id
              join public.organisations o on o.id = r.organisation_id
              left join public.candidate_profiles p on p.user_id = a.candidate_id
             where a.id = %s
             {"for update of a" if lock else ""}""",
        (application_id,),
    )


async def mark_application_invited(conn, application_id) -> None:
    await conn.execute(
        "update public.applications set status = 'invited', updated_at = now() where id = %s and status = any(%s)",
        (application_id, list(APPLICATION_STATUSES_BEFORE_INVITED)),
    )


# --- Interviewer (issue 3): whose interview it is, and saving a turn's transcript ---


async def interview_candidate(conn, interview_id) -> dict | None:
    """The interview's candidate (`candidate_id`) and `started_at`, or None."""
    return await fetch_one(
        conn,
        """select i.id, a.candidate_id, i.started_at
             from public.interviews i join public.applications a on a.id = i.application_id
            where i.id = %s""",
        (interview_id,),
    )


async def save_turn_transcript(conn, interview_id, *, candidate_text: str | None, reply: str,
                               turn_ms: int) -> None:
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
