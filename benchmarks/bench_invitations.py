"""Sending an invitation, three transactions of single statements (as at
BASELINE: about fourteen round trips to PostgreSQL) against two transactions
that write in one statement each (as at HEAD: eight), side by side in one run.

Two local hosts run at once from two exports of HEAD that differ only in the
invitation service and its queries (the other one's are BASELINE's), against
one database and one Resend double. Each round sends SENDS invitations per
host, WORKERS at a time on each, both hosts at once (the same machine noise);
each send is for an application of its own, as a recruiter's burst is. Figures
per host: latency median and p95, and the CPU per send of the host process and
of the database's backends (shared by both hosts, so measured per round while
both run: reported as a total). The latency ratio is the median over rounds.

    .venv/bin/python -m benchmarks.bench_invitations [BASELINE]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from contextlib import ExitStack

from benchmarks.common import (
    backends_of,
    bench_database,
    cpu_seconds,
    exported_tree,
    host_process,
    local_client,
    signed_in,
)

# The last commit whose send took three transactions of single statements.
BASELINE = "80a4ece552be185eb088004b9366a36adb0528f3"
FILES = ["shared/invitations/queries.py", "shared/invitations/service.py"]
ROUNDS = 5
SENDS = 60  # per host and round
WORKERS = 4  # concurrent sends per host
WARMUP = 8


async def seed_applications(database_url: str, recruiter: uuid.UUID, count: int) -> list[uuid.UUID]:
    """An organisation where `recruiter` recruits, one role, and `count` applications."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(
            """with org as (insert into organisations (name) values ('Bench Invitations') returning id),
                    member as (insert into org_users (organisation_id, user_id, role)
                               select id, %s, 'recruiter' from org)
               insert into job_roles (organisation_id, title) select id, 'Engineer' from org returning id""",
            (recruiter,),
        )
        role = (await cur.fetchone())[0]
        users = [uuid.uuid4() for _ in range(count)]
        async with conn.cursor() as cur, cur.copy("copy auth.users (id, email) from stdin") as copy:
            for user in users:
                await copy.write_row((user, f"{user.hex[:12]}@bench.test"))
        cur = await conn.execute(
            """insert into applications (job_role_id, candidate_id, status)
               select %s, unnest(%s::uuid[]), 'applied' returning id""",
            (role, users),
        )
        return [row[0] for row in await cur.fetchall()]


async def send_all(base: str, headers: dict[str, str], applications: list[uuid.UUID]) -> tuple[list[float], int]:
    """Each application's invitation, WORKERS at a time: latencies (ms) and errors."""
    queue = list(applications)
    latencies: list[float] = []
    errors = 0
    async with local_client(base) as client:

        async def worker() -> None:
            nonlocal errors
            while queue:
                body = {"applicationId": str(queue.pop()), "candidateEmail": "candidate@bench.test"}
                start = time.perf_counter()
                response = await client.post("/api/invitations/send", json=body, headers=headers)
                if response.status_code == 200:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return latencies, errors


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def measure(hosts: dict[str, tuple[str, int]], database_url: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    recruiter = uuid.uuid4()
    headers = await signed_in(database_url, recruiter)
    per_host = WARMUP + ROUNDS * SENDS
    applications = await seed_applications(database_url, recruiter, per_host * len(hosts))
    pools = {name: applications[i * per_host : (i + 1) * per_host] for i, name in enumerate(hosts)}
    await asyncio.gather(*(send_all(base, headers, pools[name][:WARMUP]) for name, (base, _) in hosts.items()))

    database = conninfo_to_dict(database_url)["dbname"]
    latencies = {name: [] for name in hosts}
    cpu = {name: 0.0 for name in hosts}
    errors = {name: 0 for name in hosts}
    ratios, db_cpu = [], 0.0
    for round_ in range(ROUNDS):
        start = WARMUP + round_ * SENDS
        before = {name: cpu_seconds([pid]) for name, (_, pid) in hosts.items()}
        db_before = cpu_seconds(backends_of(database))
        results = await asyncio.gather(
            *(send_all(base, headers, pools[name][start : start + SENDS]) for name, (base, _) in hosts.items())
        )
        db_cpu += cpu_seconds(backends_of(database)) - db_before
        for (name, (_, pid)), (times, failed) in zip(hosts.items(), results, strict=True):
            cpu[name] += cpu_seconds([pid]) - before[name]
            latencies[name] += times
            errors[name] += failed
        medians = {name: statistics.median(times) for name, (times, _) in zip(hosts, results, strict=True)}
        ratios.append(medians["two statements"] / medians["three transactions"])
    sent = ROUNDS * SENDS
    return {
        name: {
            "median_ms": statistics.median(latencies[name]),
            "p95_ms": p95(latencies[name]),
            "host_cpu_ms_per_send": cpu[name] * 1000 / sent,
            "errors": errors[name],
        }
        for name in hosts
    } | {
        "latency_ratio": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
        "db_cpu_ms_per_send_both": db_cpu * 1000 / (sent * len(hosts)),
    }


def main(baseline: str = BASELINE) -> dict:
    from tests.doubles.resend_server import ResendDouble

    with ExitStack() as stack:
        resend = stack.enter_context(ResendDouble(api_key="re_bench"))
        url = stack.enter_context(bench_database())
        env = {
            "DATABASE_URL": url,
            "RESEND_API_KEY": "re_bench",
            "RESEND_API_URL": resend.url,
            "RATE_LIMITS": json.dumps({"invitations/send": "1000000/60"}),
            "INVITATIONS_PER_ORG_PER_DAY": "1000000",  # every send goes to one organisation
            "PYTHONSAFEPATH": "1",  # import the exported tree (PYTHONPATH), not the current directory
        }
        hosts = {}
        for name, ref in (("three transactions", baseline), ("two statements", None)):
            tree = stack.enter_context(exported_tree(ref, FILES))
            hosts[name] = stack.enter_context(host_process({**env, "PYTHONPATH": str(tree)}))
        figures = asyncio.run(measure(hosts, url))
    print(f"{ROUNDS} rounds x {SENDS} sends per host, {WORKERS} at once per host, both hosts at once")
    for name in hosts:
        f = figures[name]
        print(
            f"  {name:<19} median {f['median_ms']:6.2f} ms  p95 {f['p95_ms']:6.2f} ms"
            f"  host CPU {f['host_cpu_ms_per_send']:5.2f} ms/send  errors {f['errors']}"
        )
    spread = figures["latency_ratio"]
    print(
        f"  latency ratio (two statements / three transactions), median of rounds {spread['median']:.2f}"
        f" (rounds {spread['min']:.2f}-{spread['max']:.2f}); database CPU {figures['db_cpu_ms_per_send_both']:.2f}"
        " ms per send, both hosts together"
    )
    return figures


if __name__ == "__main__":
    main(*sys.argv[1:])
