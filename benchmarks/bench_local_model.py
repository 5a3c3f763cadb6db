"""The embedded development model (SmolLM2-135M-Instruct Q4_1 on llama.cpp, CPU)
behind each AI endpoint, through the local host as a person uses it
(AI_PROVIDER=local: the host starts the model server). Per purpose: seconds
per HTTP call and, from the host's `ai.call` logs, each model call's latency,
prompt and completion tokens and completion tokens per second (the streamed
reply reports characters, as the stream carries no token counts).

Purposes, each `--rounds` times, interleaved so they share the machine's noise:
a six-turn practice interview as the frontend runs it (the conversation grows
with the model's own replies; JSON and streamed turns alternate; each turn's
reply and competency assessment run side by side), requirements from a job ad,
a CV upload parsed, a ten-turn interview scored (default rubric), a shortlist
of three applicants. Target (issue): practice-interview turn <= 5 s median.

    .venv/bin/python -m benchmarks.bench_local_model [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import defaultdict

from benchmarks.common import bench_database, local_host

TURN_TARGET_SECONDS = 5.0


async def seed(database_url: str, rounds: int) -> dict:
    from shared.platform.db import Database
    from tests.ai.seed import add_profile, create_application, create_org, create_role, years_ago
    from tests.local_model.texts import TEN_TURN_TRANSCRIPT
    from tests.scoring.conftest import seed_interview
    from tests.support import create_user

    db = Database(database_url, min_size=1, max_size=4)
    try:
        user = await create_user(db)
        interviews = [await seed_interview(db, transcript=TEN_TURN_TRANSCRIPT) for _ in range(rounds)]
        recruiter = await create_user(db)
        role = await create_role(
            db,
            await create_org(db, recruiter),
            title="Senior Backend Engineer",
            requirements={
                "skills": ["Python", "PostgreSQL", "Kafka"],
                "experience": [],
                "qualifications": [],
                "responsibilities": [],
                "interviewQuestions": [],
            },
        )
        for skills, title in (
            (["Python", "PostgreSQL"], "Backend Engineer"),
            (["Java"], "Developer"),
            (["Excel"], "Office Manager"),
        ):
            _, candidate = await create_application(db, role)
            await add_profile(
                db, candidate, skills=skills, jobs=[(title, "Example Pty Ltd", years_ago(5), None, f"{title} work.")]
            )
        return {"user": user, "interviews": interviews, "recruiter": recruiter, "role": role}
    finally:
        await db.close()


def operations(client, seeded: dict, timings: dict[str, list[float]]):
    from tests.local_model.cv_pdfs import word_processor_cv_pdf
    from tests.local_model.texts import CANDIDATE_ANSWERS, JOB_AD
    from tests.support import auth_headers

    def headers(user) -> dict[str, str]:
        return {**auth_headers(user), "x-forwarded-for": f"2001:db8::{uuid.uuid4().hex[:4]}"}

    practice = {
        "isPractice": True,
        "jobTitle": "Senior Backend Engineer",
        "companyName": "Fintech Labs",
        "totalQuestions": 6,
        "competenciesToCover": ["technical_skills", "communication", "problem_solving"],
    }
    interviews = iter(seeded["interviews"])
    cv = word_processor_cv_pdf()

    async def timed(name: str, call) -> None:
        started = time.perf_counter()
        response = await call()
        timings[name].append(time.perf_counter() - started)
        if response is not None and response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")

    async def json_turn(body: dict) -> str:
        started = time.perf_counter()
        response = await client.post("/api/ai/interviewer", json=body, headers=headers(seeded["user"]))
        timings["practice turn (JSON)"].append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"interviewer: {response.status_code} {response.text[:300]}")
        return response.json()["message"]

    async def streamed_turn(body: dict) -> str:
        started, first, done = time.perf_counter(), None, None
        async with client.stream(
            "POST", "/api/ai/interviewer/stream", json=body, headers=headers(seeded["user"])
        ) as stream:
            async for line in stream.aiter_lines():
                if first is None and line.startswith('data: {"content"'):
                    first = time.perf_counter() - started
                if line.startswith('data: {"done"'):
                    done = json.loads(line[len("data: ") :])
        timings["practice turn, streamed: first text"].append(first or float("nan"))
        timings["practice turn, streamed: whole"].append(time.perf_counter() - started)
        if done is None:
            raise RuntimeError("interviewer stream: no final event")
        return done["message"]

    async def practice_interview() -> None:
        messages: list[dict] = []
        for index in range(6):
            body = {**practice, "messages": messages, "currentQuestionIndex": index}
            started = time.perf_counter()
            reply = await (json_turn if index % 2 == 0 else streamed_turn)(body)
            timings["practice turn (any)"].append(time.perf_counter() - started)
            messages = [
                *messages,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": CANDIDATE_ANSWERS[index]},
            ]

    return [
        practice_interview,
        lambda: timed(
            "extract requirements",
            lambda: client.post(
                "/api/ai/extract-requirements",
                json={"jobTitle": "Senior Backend Engineer", "jobDescription": JOB_AD},
                headers=headers(seeded["user"]),
            ),
        ),
        lambda: timed(
            "parse CV (upload)",
            lambda: client.post(
                "/api/ai/parse-resume",
                files={"file": ("cv.pdf", cv, "application/pdf")},
                headers=headers(seeded["user"]),
            ),
        ),
        lambda: timed("score 10-turn interview", lambda: score(client, next(interviews), headers)),
        lambda: timed(
            "shortlist (3 applicants)",
            lambda: client.post(
                "/api/ai/generate-shortlist", json={"roleId": str(seeded["role"])}, headers=headers(seeded["recruiter"])
            ),
        ),
    ]


async def score(client, interview, headers):
    return await client.post(
        "/api/ai/score", json={"interviewId": str(interview.id)}, headers=headers(interview.recruiter)
    )


def model_calls(base: str) -> dict[str, list[dict]]:
    from tests.local_model.conftest import ai_events

    calls = defaultdict(list)
    for event in ai_events(base):
        if event["event"] == "ai.call" and event.get("outcome") == "ok":
            calls[event["purpose"] + (" (stream)" if event.get("stream") else "")].append(event)
    return calls


def median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


async def run(rounds: int) -> dict:
    import httpx

    from tests.local_model.conftest import ai_events, answer_report, wait_for_model

    with bench_database() as url:
        seeded = await seed(url, rounds)
        env = {
            "DATABASE_URL": url,
            "AI_PROVIDER": "local",
            "LOG_LEVEL": "INFO",
            "SCORE_WAIT_SECONDS": "220",
            "RATE_LIMIT_ENABLED": "false",
            "SUPABASE_URL": "http://127.0.0.1:9",
        }  # the issuer of tests' tokens
        with local_host(env) as base:
            wait_for_model(base)  # the host serves at once and prepares the model behind it
            timings: dict[str, list[float]] = defaultdict(list)
            async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(300, connect=5)) as client:
                ops = operations(client, seeded, timings)
                await ops[1]()  # warm-up: the first grammar compilation and page-ins
                timings.clear()
                for _ in range(rounds):
                    for op in ops:
                        await op()
            calls = model_calls(base)
            events = ai_events(base)
            answers = answer_report(events)
    print(f"{'HTTP call':<42} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in timings.items():
        print(f"{name:<42} {median(values):9.2f} {min(values):7.2f} {max(values):7.2f}")
    print(
        f"\n{'model call (purpose)':<30} {'calls':>5} {'median s':>9} {'prompt tok':>10} {'compl. tok':>10} "
        f"{'tok/s':>6}"
    )
    figures = {}
    for purpose, events in sorted(calls.items()):
        seconds = [e["latencyMs"] / 1000 for e in events]
        prompt = [e.get("promptTokens") or 0 for e in events]
        completion = [e.get("completionTokens") or 0 for e in events]
        rates = [c / s for c, s in zip(completion, seconds, strict=True) if c and s]
        figures[purpose] = {
            "calls": len(events),
            "median_s": median(seconds),
            "prompt_tokens": median(prompt),
            "completion_tokens": median(completion),
            "tokens_per_s": median(rates),
        }
        print(
            f"{purpose:<30} {len(events):5d} {median(seconds):9.2f} {median(prompt):10.0f} "
            f"{median(completion):10.0f} {median(rates):6.1f}"
        )
    turn = median(timings["practice turn (any)"])
    late = answers["purposes"].get("interviewer.competencies", {}).get("unanswered", 0)
    print(f"\npractice-interview turn median {turn:.2f} s (target <= {TURN_TARGET_SECONDS} s)")
    print(f"competency assessments not answered within their 10 s: {late}")
    print("answers (retries, repairs):", json.dumps(answers["purposes"]))
    return {"http": {k: median(v) for k, v in timings.items()}, "model": figures, "answers": answers}


def main(argv: list[str] | None = None) -> dict | None:
    from shared.ai.local_model import missing_parts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args(argv if argv is not None else sys.argv[1:])  # run_all passes names
    missing = missing_parts()
    if missing:
        print(
            f"bench_local_model: skipped, the embedded model is not installed (missing {', '.join(missing)}): "
            "run `make model`"
        )
        return None
    return asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
