"""Scoring's orchestration overhead.

1. The orchestrator's replay entry point (in this process): one call with the
   first episode's history against one with a finished run's history (every
   episode replayed), to show what replay costs as a run grows.
2. Through the local host: POST /api/ai/score on a fresh interview each time
   (auth, start, three activities, about eight replays, the starter's status
   polling, one transaction) with a model double that answers instantly,
   against GET /api/health, interleaved in one run. What remains is what
   Durable and the app add around the model call.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

from benchmarks.common import bench_database, interleaved, local_client, local_host, model_double_env, report, signed_in

TRANSCRIPT = [
    ("ai", "Tell me about a system you built."),
    ("candidate", "I led the migration of our payments platform to an event-driven design."),
    ("ai", "How did you keep it reliable?"),
    ("candidate", "We added idempotency keys and replayed every event in staging first."),
]


def replay_costs(rounds: int = 2000) -> dict:
    from shared.scoring.models import ORCHESTRATOR
    from tests.scoring.history import History
    from tests.scoring.test_orchestrator_replay import LOAD_ACTIVITY, SCORE_ACTIVITY
    from tests.support import function_host

    orchestrator = function_host().functions[ORCHESTRATOR].get_user_function()
    job = {"interviewId": str(uuid.uuid4()), "overrides": {}, "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 3}}
    first = History(ORCHESTRATOR, job).context_json()
    ok = {"ok": True, "value": {"success": True, "interviewId": job["interviewId"], "humanOverride": False}}
    finished = (
        History(ORCHESTRATOR, job)
        .scheduled(0, LOAD_ACTIVITY)
        .completed(0, ok)
        .scheduled(1, SCORE_ACTIVITY)
        .completed(1, ok)
    ).context_json()
    timings: dict[str, list[float]] = {"first episode": [], "finished run": []}
    for _ in range(rounds):  # alternated, so both see the same noise
        for name, context in (("first episode", first), ("finished run", finished)):
            started = time.perf_counter()
            orchestrator(context)
            timings[name].append((time.perf_counter() - started) * 1e6)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"replay, {name:<14} median={value:8.1f} us")
    print(f"median ratio finished/first = {medians['finished run'] / medians['first episode']:.2f}")
    return medians


def instant_model():
    from tests.doubles.openai_server import OpenAIDouble
    from tests.scoring.conftest import scoring_answer

    return OpenAIDouble(api_key="sk-bench", default_responder=scoring_answer)


def seed(database_url: str, recruiter: uuid.UUID, count: int) -> list[str]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        org = conn.execute("insert into organisations (name) values ('Bench') returning id").fetchone()[0]
        conn.execute(
            "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'recruiter')", (org, recruiter)
        )
        role = conn.execute(
            "insert into job_roles (organisation_id, title) values (%s, 'Engineer') returning id", (org,)
        ).fetchone()[0]
        interviews = []
        for _ in range(count):
            candidate = conn.execute(
                "insert into auth.users (id, email) values (gen_random_uuid(), "
                "gen_random_uuid()::text || '@bench.test') returning id"
            ).fetchone()[0]
            application = conn.execute(
                "insert into applications (job_role_id, candidate_id) values (%s, %s) returning id", (role, candidate)
            ).fetchone()[0]
            interview = conn.execute(
                "insert into interviews (application_id) values (%s) returning id", (application,)
            ).fetchone()[0]
            for index, (speaker, content) in enumerate(TRANSCRIPT):
                conn.execute(
                    "insert into transcript_segments (interview_id, speaker, content, start_time_ms) "
                    "values (%s, %s, %s, %s)",
                    (interview, speaker, content, index * 5000),
                )
            interviews.append(str(interview))
    return interviews


async def run(base: str, database_url: str, rounds: int) -> dict:
    recruiter = uuid.uuid4()
    headers = await signed_in(database_url, recruiter)
    interviews = seed(database_url, recruiter, rounds + 20)
    async with local_client(base) as client:

        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def score() -> bool:
            response = await client.post("/api/ai/score", json={"interviewId": interviews.pop()}, headers=headers)
            return response.status_code == 200 and response.json()["overall_score"] == 75

        series = await interleaved(
            {"GET /api/health": health, "POST /api/ai/score": score}, rounds=rounds, concurrency=4, warmup=10
        )
    return report(series, "POST /api/ai/score", "GET /api/health")


def main(rounds: int = 100) -> dict:
    os.environ.setdefault("APP_ENV", "test")
    results = {"replay": replay_costs()}
    with instant_model() as model, bench_database() as url:
        env = model_double_env(url, model.url, {"ai/score": "1000000/60"})
        with local_host(env) as base:
            results["http"] = asyncio.run(run(base, url, rounds))
    return results


if __name__ == "__main__":
    main()
