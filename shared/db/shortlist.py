"""What the shortlist reads about a role's applicants: three queries whatever
their number (applications with profile and best score, skills, employment).
Only the columns ranking needs are read; candidate_dei never is."""

from __future__ import annotations

from shared.db import fetch_all, fetch_one

# Applicants of the role whose profile is not paused (no profile row: not paused).
_APPLICANTS_OF_ROLE = """
    select a.candidate_id from public.applications a
      left join public.candidate_profiles p on p.user_id = a.candidate_id
     where a.job_role_id = %(role)s and p.paused_at is null"""


async def role(conn, role_id) -> dict | None:
    return await fetch_one(
        conn,
        """select id, organisation_id, title, description, requirements, location, work_type
             from public.job_roles where id = %s""",
        (role_id,),
    )


async def applicants(conn, role_id) -> list[dict]:
    """One row per application: profile fields and the best interview score."""
    return await fetch_all(
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


async def skills_by_candidate(conn, role_id) -> dict:
    rows = await fetch_all(
        conn,
        f"""select s.user_id, array_agg(s.skill_name order by s.skill_name) as skills
              from public.candidate_skills s
             where s.user_id in ({_APPLICANTS_OF_ROLE})
             group by s.user_id""",
        {"role": role_id},
    )
    return {row["user_id"]: row["skills"] for row in rows}


async def employment_by_candidate(conn, role_id) -> dict:
    """Each applicant's positions, current and most recent first (descriptions trimmed)."""
    rows = await fetch_all(
        conn,
        f"""select e.user_id, e.job_title, e.company_name, left(e.description, 300) as description,
                   e.start_date, e.end_date, e.is_current
              from public.employment_history e
             where e.user_id in ({_APPLICANTS_OF_ROLE})
             order by e.user_id, e.is_current desc, e.start_date desc""",
        {"role": role_id},
    )
    jobs: dict = {}
    for row in rows:
        jobs.setdefault(row.pop("user_id"), []).append(row)
    return jobs
