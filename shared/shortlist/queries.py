"""What the shortlist reads: the role, then ONE statement that ranks all of the
role's applicants inside PostgreSQL and returns only the leading ones with the
details the answer shows. Filtering (paused profiles), the ranking's features
(required skills matched, years of experience, related titles, best interview
score), the score and the top-k never leave the database, so the work sent to
Python does not grow with the number of applicants. candidate_dei is never read.

The text rules (what counts as the same skill, which words a title has) are
applied once per distinct skill name or job title, not once per row.
"""

from __future__ import annotations

from datetime import date

from shared.platform.db import Conn, Id, Row, fetch_all, fetch_one

# --- text rules, as SQL expressions ---------------------------------------------------
# Python's str.lower() followed by dropping everything but [a-z0-9+#]: only ASCII
# capitals and two non-ASCII capitals (U+0130 becomes "i" plus a combining dot, U+212A
# the Kelvin sign becomes "k") lower-case to something that survives, so those are
# mapped explicitly and PostgreSQL's locale-dependent lower() is not used. The class
# is spelled out: ranges in bracket expressions are not guaranteed to be by code point.
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789+#"
_NON_WORD = f"'[^{_WORD_CHARS}]+'"


def _lowered(text: str) -> str:
    return (
        f"translate(replace({text}, '\u0130', 'i\u0307'), "
        "'ABCDEFGHIJKLMNOPQRSTUVWXYZ\u212a', 'abcdefghijklmnopqrstuvwxyzk')"
    )


def squashed_sql(text: str) -> str:
    """Lower case with every non-word character removed ('React.js' -> 'reactjs')."""
    return f"regexp_replace({_lowered(text)}, {_NON_WORD}, '', 'g')"


def words_sql(text: str) -> str:
    """The words of a text, lower case, as text[] ('Senior Front-end' -> {senior,front,end})."""
    return f"string_to_array(btrim(regexp_replace({_lowered(text)}, {_NON_WORD}, ' ', 'g')), ' ')"


def without_js_sql(squashed: str) -> str:
    """A squashed name without a trailing 'js' when longer than four ('reactjs' -> 'react', 'ejs' kept)."""
    return (
        f"(case when right({squashed}, 2) = 'js' and length({squashed}) > 4 then left({squashed}, -2)"
        f" else {squashed} end)"
    )


# Paused ones included: their rows are dropped with them when features meet applications.
_ROLE_CANDIDATES = "select candidate_id from public.applications where job_role_id = %(role)s"

# Each CTE's job, in order: the required skills' match keys; the role's applicants'
# skill rows and, per distinct name, which required skills it satisfies; their
# employment rows with days counted and, per distinct title, whether it shares a
# word with the role's title; the best interview score per application; the
# features and score per application (paused profiles left out); the leaders.
_RANKED = f"""
with required as (
    select r.position, array[{without_js_sql("k.squashed")}]
                       || array(select {without_js_sql("w")} from unnest({words_sql("r.skill")}) w) as keys
      from unnest(%(required)s::text[]) with ordinality r(skill, position)
     cross join lateral (select {squashed_sql("r.skill")} as squashed) k),
skill as materialized (
    select s.user_id, s.skill_name
      from public.candidate_skills s
     where s.user_id in ({_ROLE_CANDIDATES})),
skill_key as materialized (
    select d.skill_name, {squashed_sql("d.skill_name")} as squashed
      from (select distinct skill_name from skill) d),
skill_position as (
    select k.skill_name, r.position
      from skill_key k
      join required r on {without_js_sql("k.squashed")} = any(r.keys)),
matched as (
    select s.user_id, array_agg(distinct p.position) as positions
      from skill s
      join skill_position p on p.skill_name = s.skill_name
     group by s.user_id),
job as materialized (
    select e.user_id, e.job_title,
           case when e.ended > e.start_date then least(e.ended, %(today)s::date) - e.start_date else 0 end as days
      from (select user_id, job_title, start_date,
                   case when is_current or end_date is null then %(today)s::date else end_date end as ended
              from public.employment_history
             where user_id in ({_ROLE_CANDIDATES})) e),
title_relevance as materialized (
    select d.job_title,
           {words_sql("d.job_title")} && array(select w from unnest({words_sql("%(title)s::text")}) w
                                              where w <> all(%(title_noise)s::text[])) as related
      from (select distinct job_title from job) d),
experience as (
    select j.user_id, sum(j.days) as days, coalesce(bool_or(t.related), false) as related
      from job j
      left join title_relevance t on t.job_title = j.job_title
     group by j.user_id),
best as (
    select i.application_id, max(s.overall_score) as best_score
      from public.interviews i
      join public.interview_scores s on s.interview_id = i.id
      join public.applications a on a.id = i.application_id
     where a.job_role_id = %(role)s
     group by i.application_id),
feature as (
    select a.id, a.candidate_id, a.created_at, b.best_score, coalesce(m.positions, '{{}}') as positions,
           least(coalesce(x.days, 0)::float8 / 365.25::float8, 50::float8) as years,
           coalesce(x.related, false) as related
      from public.applications a
      left join best b on b.application_id = a.id
      left join matched m on m.user_id = a.candidate_id
      left join experience x on x.user_id = a.candidate_id
     where a.job_role_id = %(role)s
       and not exists (select from public.candidate_profiles p
                        where p.user_id = a.candidate_id and p.paused_at is not null)),
scored as (
    select f.*,
           100::float8 * (%(skills_weight)s::float8
                            * case when cardinality(%(required)s::text[]) = 0 then %(neutral)s::float8
                                   else cardinality(f.positions)::float8 / cardinality(%(required)s::text[]) end
                          + %(interview_weight)s::float8
                            * coalesce(f.best_score::float8 / 100::float8, %(neutral)s::float8)
                          + %(experience_weight)s::float8
                            * (least(f.years, %(full_years)s::float8) / %(full_years)s::float8)
                          + %(title_weight)s::float8 * (case when f.related then 1 else 0 end)::float8) as exact
      from feature f),
ranked as (
    select s.id, s.candidate_id, s.created_at, s.best_score, s.positions, s.years, s.related,
           count(*) over () as applicants,
           -- half to even, as Python's round(): ties go to the even neighbour
           (case when s.exact > floor(s.exact) + 0.5::float8 then floor(s.exact) + 1
                 when s.exact < floor(s.exact) + 0.5::float8 then floor(s.exact)
                 else floor(s.exact) + abs(floor(s.exact)::int8 %% 2) end)::int as score
      from scored s),
leader as (
    select * from ranked r
     order by r.score desc, coalesce(r.best_score, -1) desc, r.created_at, r.id
     limit %(top)s)
select l.id as application_id, l.candidate_id, l.created_at, l.best_score, l.positions, l.years, l.related,
       l.score, l.applicants, p.availability, p.work_mode, p.suburb, p.state,
       array(select k.skill_name from public.candidate_skills k
              where k.user_id = l.candidate_id order by k.skill_name) as skills,
       (select jsonb_agg(jsonb_build_object('job_title', e.job_title, 'company_name', e.company_name,
                                            'description', left(e.description, 300), 'start_date', e.start_date,
                                            'end_date', e.end_date, 'is_current', e.is_current)
                         order by e.is_current desc, e.start_date desc)
          from public.employment_history e where e.user_id = l.candidate_id) as jobs
  from leader l
  left join public.candidate_profiles p on p.user_id = l.candidate_id
 order by l.score desc, coalesce(l.best_score, -1) desc, l.created_at, l.id"""


async def role(conn: Conn, role_id: Id) -> Row | None:
    return await fetch_one(
        conn,
        """select id, organisation_id, title, description, requirements, location, work_type
             from public.job_roles where id = %s""",
        (role_id,),
    )


async def ranked_applicants(
    conn: Conn,
    role_id: Id,
    *,
    required: list[str],
    title: str,
    title_noise: list[str],
    weights: dict[str, float],
    neutral: float,
    full_years: int,
    today: date,
    top: int,
) -> list[Row]:
    """The `top` best applicants, best first, each with `applicants` (how many were
    ranked), score, features (`positions`: 1-based indexes into `required`) and
    details: profile fields, skills by name, positions current and most recent
    first (`jobs`, JSON: dates as ISO strings)."""
    return await fetch_all(
        conn,
        _RANKED,
        {
            "role": role_id,
            "required": required,
            "title": title,
            "title_noise": title_noise,
            "today": today,
            "skills_weight": weights["skills"],
            "interview_weight": weights["interview"],
            "experience_weight": weights["experience"],
            "title_weight": weights["title"],
            "neutral": neutral,
            "full_years": full_years,
            "top": top,
        },
    )
