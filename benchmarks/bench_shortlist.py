"""The shortlist's loading and deterministic ranking for roles with 5,000 and
50,000 seeded applicants (profiles, 3 skills and 3 positions each, a quarter
interviewed and scored, one in twenty paused), before and after the ranking
moved into PostgreSQL, interleaved in one run so both see the same machine:

- before: the reference copy of the old code (tests/shortlist/reference.py):
  five statements load every applicant, Python scores and sorts them;
- after: `rank_applicants` (role, membership, one ranking statement returning
  the leading 20 with their details).

Reports medians and p99 of load + rank, the median CPU time per call (this
process plus the PostgreSQL process serving it: the figure least moved by
other load on the machine), the statement count (which must not grow with the
applicants) and checks that both name the same leaders with the same scores.
Targets: 5,000 applicants < 250 ms, 50,000 < 2 s.

    .venv/bin/python -m benchmarks.bench_shortlist [--sizes 5000,50000] [--repeats 7] [--no-before]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from contextlib import asynccontextmanager
from datetime import date

from benchmarks.common import bench_database

TARGETS_MS = {5_000: 250, 50_000: 2_000}
LEADERS = 20

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
           returning id""",
        (organisation,),
    )
    async with db.transaction() as conn:
        for statement in filter(str.strip, SEED.split(";\n")):
            await conn.execute(statement, {"n": applicants, "role": role["id"]})
    return role["id"]


class Measured:
    """Counts statements (as tests.ai.counting does) and the CPU time the server
    process spends on them (/proc/<pid>/schedstat: local servers only, else 0).
    CPU time, client plus server, is the figure least moved by other load."""

    def __init__(self, db):
        from tests.ai.counting import CountingDatabase

        self.counting = CountingDatabase(db)
        self.server_cpu_ms = 0.0

    @property
    def queries(self) -> int:
        return self.counting.queries

    @asynccontextmanager
    async def connection(self):
        async with self.counting.connection() as conn:
            pid = conn.info.backend_pid
            before = _cpu_ms(pid)
            try:
                yield conn
            finally:
                self.server_cpu_ms += _cpu_ms(pid) - before


def _cpu_ms(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def _median_p99(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def run(url: str, sizes: tuple[int, ...], repeats: int, before: bool) -> dict:
    from shared.platform.db import Database
    from shared.shortlist.service import rank_applicants
    from tests.shortlist import reference

    db = Database(url, min_size=1, max_size=4)
    results = {}
    try:
        recruiter = uuid.uuid4()
        await db.execute("insert into auth.users (id, email) values (%s, 'recruiter@bench.test')", (recruiter,))
        organisation = (await db.fetch_one("insert into public.organisations (name) values ('Bench') returning id"))[
            "id"
        ]
        await db.execute(
            "insert into public.org_users (organisation_id, user_id, role) values (%s, %s, 'recruiter')",
            (organisation, recruiter),
        )
        for size in sizes:
            role_id = await seed_role(db, organisation, size)
            print(f"{size:,} applicants seeded; load average {os.getloadavg()[0]:.1f}", flush=True)
            await db.execute("vacuum analyze")  # the steady state autovacuum keeps: statistics, visibility map
            today = date.today()
            old_load, old_rank, old_total, new_total, old_cpu, new_cpu = [], [], [], [], [], []
            statements = {"before": set(), "after": set()}
            same_leaders = True
            ranked_count = 0
            for attempt in range(repeats + 2):
                if before:
                    measured = Measured(db)
                    started, cpu_started = time.perf_counter(), time.process_time()
                    role, applicants = await reference.load_applicants(measured, recruiter, role_id)
                    loaded_at = time.perf_counter()
                    expected = reference.pre_rank(role, applicants, today)[:LEADERS]
                    finished, cpu_finished = time.perf_counter(), time.process_time()
                    statements["before"].add(measured.queries)
                    if attempt >= 2:  # two warm-up runs
                        old_load.append((loaded_at - started) * 1000)
                        old_rank.append((finished - loaded_at) * 1000)
                        old_total.append((finished - started) * 1000)
                        old_cpu.append((cpu_finished - cpu_started) * 1000 + measured.server_cpu_ms)
                measured = Measured(db)
                started, cpu_started = time.perf_counter(), time.process_time()
                ranking = await rank_applicants(measured, recruiter, role_id, top=LEADERS, today=today)
                finished, cpu_finished = time.perf_counter(), time.process_time()
                statements["after"].add(measured.queries)
                ranked_count = ranking.applicants
                if attempt >= 2:
                    new_total.append((finished - started) * 1000)
                    new_cpu.append((cpu_finished - cpu_started) * 1000 + measured.server_cpu_ms)
                if before:
                    same_leaders &= [(a.application_id, a.score) for a in ranking.leaders] == [
                        (a.application_id, a.score) for a in expected
                    ]
            new_median, new_p99 = _median_p99(new_total)
            result = {
                "applicants_seeded": size,
                "applicants_ranked": ranked_count,
                "after_median_ms": new_median,
                "after_p99_ms": new_p99,
                "after_cpu_median_ms": statistics.median(new_cpu),
                "after_statements": sorted(statements["after"]),
            }
            line = (
                f"{size:>6,} applicants ({ranked_count:,} not paused): after median {new_median:.1f} ms "
                f"(p99 {new_p99:.1f}; CPU {result['after_cpu_median_ms']:.1f}), statements "
                f"{result['after_statements']}"
            )
            if before:
                old_median, old_p99 = _median_p99(old_total)
                result.update(
                    before_load_median_ms=statistics.median(old_load),
                    before_rank_median_ms=statistics.median(old_rank),
                    before_median_ms=old_median,
                    before_p99_ms=old_p99,
                    before_cpu_median_ms=statistics.median(old_cpu),
                    before_statements=sorted(statements["before"]),
                    same_leaders=same_leaders,
                    ratio=new_median / old_median,
                )
                line += (
                    f"; before median {old_median:.1f} ms (load {result['before_load_median_ms']:.1f} + rank "
                    f"{result['before_rank_median_ms']:.1f}; p99 {old_p99:.1f}; CPU "
                    f"{result['before_cpu_median_ms']:.1f}), statements "
                    f"{result['before_statements']}; after/before {result['ratio']:.3f}; "
                    f"same leaders and scores: {same_leaders}"
                )
            results[size] = result
            print(line + f"; load average {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        await db.close()
    for size, result in results.items():
        target = TARGETS_MS.get(size)
        if target:
            print(f"{size:,} applicants: {result['after_median_ms']:.0f} ms (target < {target} ms)")
    print(f"statements per run after: {[r['after_statements'] for r in results.values()]} (must not grow)")
    return results


def main(argv: list[str] | None = None) -> dict:
    """`argv` None (as `make bench` calls it): the defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000", help="applicants per role, comma separated")
    parser.add_argument("--repeats", type=int, default=7, help="measured runs per size (after 2 warm-ups)")
    parser.add_argument("--no-before", action="store_true", help="skip the reference (old) implementation")
    args = parser.parse_args(argv or [])
    sizes = tuple(int(s) for s in args.sizes.split(","))
    with bench_database() as url:
        return asyncio.run(run(url, sizes, args.repeats, not args.no_before))


if __name__ == "__main__":
    main(sys.argv[1:])
