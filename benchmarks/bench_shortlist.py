"""The shortlist's data loading and deterministic pre-ranking for roles with 500
and 5,000 seeded applicants (profiles, 3 skills and 3 positions each, a quarter
interviewed and scored, one in twenty paused). Reports medians, p99 and the
number of SQL statements, which must not grow with the applicants.
Target: under 1 s for 5,000 applicants."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from benchmarks.common import bench_database

SEED = """
create temp table bench_people on commit drop as
    select gen_random_uuid() as id, g from generate_series(1, %(n)s) g;
insert into auth.users (id, email) select id, 'bench-' || id || '@example.test' from bench_people;
insert into public.candidate_profiles (user_id, first_name, state, availability, work_mode, paused_at)
    select id, 'Person ' || g, (array['NSW', 'VIC', 'QLD'])[1 + g %% 3], '2 weeks notice', 'hybrid',
           case when g %% 20 = 0 then now() end
      from bench_people;
insert into public.candidate_skills (user_id, skill_name, skill_type)
    select id, skill, 'hard'
      from bench_people, unnest(array['React', 'TypeScript', 'GraphQL', 'Python', 'SQL', 'Docker']) with ordinality u(skill, k)
     where (g + k) %% 2 = 0;
insert into public.employment_history (user_id, job_title, company_name, start_date, end_date, is_current, description)
    select id, (array['Frontend Developer', 'Data Analyst', 'Chef'])[1 + (g + k) %% 3], 'Company ' || k,
           current_date - (k * 700 + g %% 300), case when k = 1 then null else current_date - ((k - 1) * 700) end,
           k = 1, 'Built and shipped features with a small team.'
      from bench_people, generate_series(1, 3) k;
create temp table bench_applications on commit drop as
    with inserted as (
        insert into public.applications (job_role_id, candidate_id) select %(role)s, id from bench_people returning id)
    select id, row_number() over () as g from inserted;
create temp table bench_interviews on commit drop as
    with inserted as (
        insert into public.interviews (application_id, status)
        select id, 'completed' from bench_applications where g %% 4 = 0 returning id)
    select id, row_number() over () as g from inserted;
insert into public.interview_scores (interview_id, overall_score, scored_by)
    select id, 40 + (g * 7) %% 60, 'ai' from bench_interviews;
"""


async def seed_role(db, organisation, applicants: int):
    role = await db.fetch_one(
        """insert into public.job_roles (organisation_id, title, requirements, status)
           values (%s, 'Senior Frontend Engineer',
                   '{"skills": ["React", "TypeScript", "GraphQL", "Accessibility"]}'::jsonb, 'active')
           returning id""", (organisation,))
    async with db.transaction() as conn:
        for statement in filter(str.strip, SEED.split(";\n")):
            await conn.execute(statement, {"n": applicants, "role": role["id"]})
    return role["id"]


async def run(url: str, sizes: tuple[int, ...], repeats: int) -> dict:
    from shared.db import Database
    from shared.services.shortlist import load_applicants, pre_rank
    from tests.ai.counting import CountingDatabase

    db = Database(url, min_size=1, max_size=4)
    results = {}
    try:
        recruiter = uuid.uuid4()
        await db.execute("insert into auth.users (id, email) values (%s, 'recruiter@bench.test')", (recruiter,))
        organisation = (await db.fetch_one("insert into public.organisations (name) values ('Bench') returning id"))["id"]
        await db.execute("insert into public.org_users (organisation_id, user_id, role) values (%s, %s, 'recruiter')",
                         (organisation, recruiter))
        for size in sizes:
            role_id = await seed_role(db, organisation, size)
            await db.execute("analyze")
            timings, queries, loaded = [], set(), 0
            for attempt in range(repeats + 2):
                counting = CountingDatabase(db)
                started = time.perf_counter()
                role, applicants = await load_applicants(counting, recruiter, role_id)
                loaded_at = time.perf_counter()
                ranked = pre_rank(role, applicants)
                finished = time.perf_counter()
                if attempt >= 2:  # two warm-up runs
                    timings.append(((loaded_at - started) * 1000, (finished - loaded_at) * 1000))
                queries.add(counting.queries)
                loaded = len(ranked)
            totals = sorted(load + rank for load, rank in timings)
            result = {
                "applicants_seeded": size, "applicants_ranked": loaded, "queries": sorted(queries),
                "load_median_ms": statistics.median(t[0] for t in timings),
                "pre_rank_median_ms": statistics.median(t[1] for t in timings),
                "total_median_ms": statistics.median(totals),
                "total_p99_ms": totals[min(len(totals) - 1, round(0.99 * (len(totals) - 1)))],
            }
            results[size] = result
            print(f"{size:>5} applicants ({loaded} not paused): load median {result['load_median_ms']:.1f} ms, "
                  f"pre-rank median {result['pre_rank_median_ms']:.1f} ms, total median "
                  f"{result['total_median_ms']:.1f} ms, p99 {result['total_p99_ms']:.1f} ms, "
                  f"SQL statements {result['queries']}")
    finally:
        await db.close()
    largest = results[max(sizes)]
    print(f"5,000 applicants: {largest['total_median_ms']:.0f} ms (target < 1000 ms); statements per run "
          f"{[r['queries'] for r in results.values()]} (must not grow)")
    return results


def main(sizes: tuple[int, ...] = (500, 5_000), repeats: int = 15) -> dict:
    with bench_database() as url:
        return asyncio.run(run(url, sizes, repeats))


if __name__ == "__main__":
    main()
