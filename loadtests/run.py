"""The load test (`make load`): the frontend's mix of calls from 50 simulated
people, then a burst against the rate limits, on loopback only, bounded in
users and time (it stops by itself).

1. A fresh database; the wire doubles of every hosted service (the model
   answering at a realistic latency, Resend, ACS identity, Speech, Supabase
   Storage); data seeded with the tests' helpers; tokens minted.
2. The local host in its own process, configured like production apart from
   the doubles' URLs (pool DB_POOL_MAX, the configured rate limits).
3. Locust, MixUser: 50 users for --seconds, each a person at a person's pace
   (2-4 s between calls) on a client address of its own. Meanwhile the pool's
   use is sampled from pg_stat_activity, and py-spy samples the host's CPU.
4. Locust, BurstUser: 50 users at one instant in a fresh window: each one's
   own bucket (organisations, limit 10/min) gets 12 requests, and one bucket
   shared by all (one user's speech tokens, limit 60/min) gets 100.

Checks (exit status 1 when one fails): no 5xx anywhere; in the mix no 429
either (people at this pace stay within their allowance); in the burst exactly
the allowance passes in every bucket; the pool never waited out its timeout.
Figures (throughput, p50/p95/p99, errors per endpoint; pool peak; the
profile's top frames) are printed and written to .local/loadtest/.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import ROOT, bench_database

OUT = Path(ROOT) / ".local" / "loadtest"
USERS = 50
APPLICANTS = 12  # per role: what the shortlist ranks and invitations go to
POOL_MAX = 10  # DB_POOL_MAX, the default
ORGANISATIONS_LIMIT, SPEECH_LIMIT = 10, 60  # per user per minute, as configured (API.md)
OWN_REQUESTS, SHARED_REQUESTS = ORGANISATIONS_LIMIT + 2, 2  # per burst user
CV_BUCKET, SERVICE_ROLE_KEY, AI_KEY, RESEND_KEY = "cvs", "service-role-load", "sk-load", "re_load_key"


# -- the model at a realistic latency ---------------------------------------------------


def realistic_model():
    """Latencies of a hosted chat model (time to first token 0.3-0.8 s, about 40
    tokens/s for a short interviewer turn; structured answers 0.3-4 s by size)."""
    from shared.interviewer import competency_prompts as competencies
    from shared.resumes import prompts as resume
    from shared.shortlist import prompts as shortlist
    from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply
    from tests.resumes.test_parse_resume import PARSED
    from tests.scoring.conftest import scoring_answer

    reply_text = (
        "Thanks, that is a useful example. What was the hardest trade-off you made during that "
        "migration, and how did you explain it to the rest of the team?"
    )
    chunks, interval = 24, 0.025

    def respond(body: dict):
        uniform = random.uniform
        if body.get("tools"):
            tool = body["tool_choice"]["function"]["name"]
            if tool == competencies.TOOL_NAME:
                return tool_call_reply(tool, {"detectedCompetencies": ["technical_skills"]}, delay=uniform(0.3, 0.7))
            if tool == resume.TOOL_NAME:
                return tool_call_reply(tool, PARSED, delay=uniform(1.5, 3.0))
            if tool == shortlist.TOOL_NAME:
                ids = [c["applicationId"] for c in json.loads(body["messages"][1]["content"])["candidates"]]
                return tool_call_reply(
                    tool,
                    {
                        "rankings": [
                            {"applicationId": i, "matchScore": 90 - n, "matchReasons": ["Relevant React experience"]}
                            for n, i in enumerate(ids)
                        ]
                    },
                    delay=uniform(1.0, 2.0),
                )
            reply = scoring_answer(body)
            reply.delay = uniform(2.0, 4.0)
            return reply
        first_token = uniform(0.3, 0.8)
        if body.get("stream"):
            return ScriptedReply(content=reply_text, delay=first_token, chunks=chunks, chunk_interval=interval)
        return ScriptedReply(content=reply_text, delay=first_token + chunks * interval)

    return OpenAIDouble(api_key=AI_KEY, default_responder=respond)


# -- data -------------------------------------------------------------------------------


async def seed(database_url: str, supabase, supabase_url: str) -> dict:
    from shared.platform.config import DEV_JWT_SECRET
    from shared.platform.db import Database
    from tests.ai import pdfs
    from tests.ai.seed import add_profile, create_application, create_interview, create_org, create_role, years_ago
    from tests.doubles.tokens import mint_hs256
    from tests.scoring.conftest import TRANSCRIPT
    from tests.support import create_user

    def token(user) -> str:
        return mint_hs256(DEV_JWT_SECRET, str(user), supabase_url=supabase_url)

    db = Database(database_url, min_size=1, max_size=4)
    cv = pdfs.cv_pdf()
    skills = ["React", "TypeScript", "GraphQL", "Python", "SQL", "Go", "Testing", "AWS"]
    mix = []
    for n in range(USERS):
        person = await create_user(db)
        org = await create_org(db, person, "recruiter", name=f"Load Org {n}")
        role = await create_role(db, org)
        applications = []
        for k in range(APPLICANTS):
            application, candidate = await create_application(db, role)
            await add_profile(
                db,
                candidate,
                skills=random.sample(skills, 3),
                jobs=[("Frontend Developer", "Acme", years_ago(1 + k % 8), None, "Built the web app")],
            )
            applications.append({"id": str(application), "email": f"{candidate.hex[:8]}@example.test"})
        own_application, _ = await create_application(db, role, candidate=person)
        interview = await create_interview(db, own_application, started_at=datetime.now(UTC), status="in_progress")
        scored = await create_interview(db, uuid.UUID(applications[0]["id"]), status="completed")
        for turn in TRANSCRIPT:
            await db.execute(
                "insert into transcript_segments (interview_id, speaker, content, start_time_ms) "
                "values (%s, %s, %s, %s)",
                (scored, turn["speaker"], turn["content"], turn["start_time_ms"]),
            )
        supabase.put_object(CV_BUCKET, f"{person}/resume.pdf", cv)
        mix.append(
            {
                "user": str(person),
                "token": token(person),
                "ip": f"127.0.1.{n + 1}",
                "interview": str(interview),
                "score_interview": str(scored),
                "role": str(role),
                "applications": applications,
                "cv_path": f"{person}/resume.pdf",
            }
        )
    burst_users = [await create_user(db) for _ in range(USERS)]
    shared = await create_user(db)
    await db.close()
    return {
        "mix": mix,
        "burst": {
            "users": [{"user": str(u), "token": token(u), "ip": f"127.0.2.{n + 1}"} for n, u in enumerate(burst_users)],
            "shared_token": token(shared),
            "own_requests": OWN_REQUESTS,
            "shared_requests": SHARED_REQUESTS,
            "window_seconds": 60,
            "needs_seconds": 30,
        },
    }


# -- watching the pool ------------------------------------------------------------------------


class PoolWatch(threading.Thread):
    """Samples the host's connections to the run's database (nothing else uses it)
    every 50 ms: how many are open, and how many are busy in a statement or transaction."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.database_url = database_url
        self.stopping = threading.Event()
        self.busy, self.open = Counter(), 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stopping.is_set():
                busy, opened = conn.execute(
                    "select count(*) filter (where state <> 'idle'), count(*) from pg_stat_activity "
                    "where datname = current_database() and pid <> pg_backend_pid() "
                    "and backend_type = 'client backend'"
                ).fetchone()
                self.busy[busy] += 1
                self.open = max(self.open, opened)
                self.stopping.wait(0.05)

    def stop(self) -> dict:
        self.stopping.set()
        self.join(5)
        samples = sum(self.busy.values())
        peak = max(self.busy) if self.busy else 0
        at_max = sum(n for busy, n in self.busy.items() if busy >= POOL_MAX)
        return {
            "samples": samples,
            "peak_busy": peak,
            "peak_open": self.open,
            "share_of_samples_all_busy": at_max / samples if samples else 0.0,
            "mean_busy": sum(b * n for b, n in self.busy.items()) / samples if samples else 0.0,
        }


# -- locust and py-spy --------------------------------------------------------------------------


def locust(
    user_class: str, base: str, fixture: Path, *, users: int, spawn_rate: float, seconds: int, label: str
) -> dict:
    counts = OUT / f"{label}-counts.json"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(ROOT) / "loadtests" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        f"{seconds}s",
        "-H",
        base,
        "--csv",
        str(OUT / label),
        "--only-summary",
        "--stop-timeout",
        "30",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    env = {**os.environ, "LOADTEST_FIXTURE": str(fixture), "LOADTEST_COUNTS": str(counts)}
    with open(OUT / f"{label}-locust.log", "wb") as log:
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=seconds + 120
        )
    stats = {}
    with open(OUT / f"{label}_stats.csv") as f:
        for row in csv.DictReader(f):
            stats[row["Name"]] = {
                "method": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": row["50%"],
                "p95": row["95%"],
                "p99": row["99%"],
            }
    return {"stats": stats, **json.loads(counts.read_text())}


class Profiler(threading.Thread):
    """py-spy sampling the host for `seconds`, starting after `delay`."""

    def __init__(self, pid: int, seconds: int, delay: float):
        super().__init__(daemon=True)
        self.command = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            "100",
            "-f",
            "raw",
            "--nonblocking",
            "-o",
            str(OUT / "profile.txt"),
        ]
        self.delay = delay
        self.start()

    def run(self) -> None:
        time.sleep(self.delay)
        with open(OUT / "py-spy.log", "wb") as log:
            subprocess.run(self.command, stdout=log, stderr=subprocess.STDOUT, timeout=900)

    def wait(self, timeout: float) -> None:
        self.join(timeout)


# Where a CPU sample's time goes: the innermost frame that matches, leaf first.
COMPONENTS = [
    ("TLS context built for a new HTTP client", ("create_default_context", "load_verify_locations")),
    ("imports (a code path's first use)", ("<frozen importlib", "_compile_bytecode")),
    ("PostgreSQL driver (psycopg, pool)", ("psycopg",)),
    ("token checks (PyJWT, cryptography)", ("jwt/", "cryptography/")),
    ("pydantic (validation, serialisation)", ("pydantic",)),
    ("PDF text (pypdf)", ("pypdf/",)),
    (
        "model SDK and HTTP clients (openai, httpx, resend, supabase, azure.core)",
        (
            "openai/",
            "httpx",
            "httpcore",
            "resend/",
            "supabase",
            "storage3/",
            "postgrest/",
            "azure/core/",
            "azure/communication/",
            "aiohttp/",
        ),
    ),
    ("Durable Functions SDK", ("azure/durable_functions",)),
    ("Azure Functions library", ("azure/functions",)),
    ("JSON", ("json/",)),
    ("logging", ("logging/",)),
    ("the app's own code (shared, blueprints)", ("shared/", "blueprints/", "function_app")),
    ("the local host (devhost)", ("devhost/",)),
    ("HTTP server (uvicorn, starlette, h11/httptools)", ("uvicorn/", "starlette/", "h11/", "httptools", "fastapi/")),
    ("event loop, sockets", ("asyncio/", "selectors", "socket")),
]


def profile_summary(path: Path, top: int = 15) -> dict:
    """py-spy's collapsed stacks: each sample's component (innermost match), and the
    functions most often at the top of the stack (self time)."""
    import re

    components, own, total = Counter(), Counter(), 0
    frame = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        match = frame.match(frames[-1])
        own[f"{match.group(1)} ({_short(match.group(2))})" if match else frames[-1]] += n
        label = "other"
        for part in reversed(frames):
            label = next((name for name, marks in COMPONENTS if any(m in part for m in marks)), None)
            if label:
                break
        components[label or "other"] += n
    share = (lambda pairs: [(name, n / total) for name, n in pairs]) if total else (lambda pairs: [])
    return {"samples": total, "components": share(components.most_common()), "self": share(own.most_common(top))}


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# -- the run ----------------------------------------------------------------------------------------


def table(stats: dict) -> list[str]:
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |", "|---|---|---|---|---|---|---|"]
    for name, s in stats.items():
        label = "all" if name == "Aggregated" else f"{s['method']} {name}"
        lines.append(
            f"| {label} | {s['requests']} | {s['rps']:.2f} | {s['p50']} | {s['p95']} | {s['p99']} | {s['failures']} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test on loopback (see loadtests/run.py)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the mix (bounded: at most 600)")
    parser.add_argument("--users", type=int, default=USERS, help="concurrent users (at most 50 addresses seeded)")
    # A pool opened full, as an instance that takes bursts should run (docs/RELIABILITY.md): a pool
    # growing one connection at a time on a loaded machine can outlast the 3 s pool wait.
    parser.add_argument(
        "--pool-min", type=int, default=10, help="DB_POOL_MIN for the host (default: 10, the pool's max)"
    )
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    seconds, users = min(args.seconds, 600), min(args.users, USERS)
    OUT.mkdir(parents=True, exist_ok=True)

    from devhost.launch import start_devhost, stop
    from tests.doubles.acs_identity_server import AcsIdentityDouble
    from tests.doubles.resend_server import ResendDouble
    from tests.doubles.speech_server import SpeechTokenDouble
    from tests.doubles.supabase_server import SupabaseDouble

    with (
        bench_database() as url,
        realistic_model() as model,
        ResendDouble(api_key=RESEND_KEY) as resend,
        AcsIdentityDouble() as acs,
        SpeechTokenDouble() as speech,
        SupabaseDouble(service_role_key=SERVICE_ROLE_KEY) as supabase,
    ):
        print("seeding...", flush=True)
        fixture = asyncio.run(seed(url, supabase, supabase.url))
        fixture_path = OUT / "fixture.json"
        fixture_path.write_text(json.dumps(fixture))
        env = {
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": url,
            "DB_AUTO_MIGRATE": "false",
            "DB_POOL_MAX": str(POOL_MAX),
            "SUPABASE_URL": supabase.url,
            "SUPABASE_SERVICE_ROLE_KEY": SERVICE_ROLE_KEY,
            "CV_BUCKET": CV_BUCKET,
            "AI_BASE_URL": model.url + "/v1",
            "AI_API_KEY": AI_KEY,
            "AI_MODEL": "gpt-load",
            "AI_SCORING_MODEL": "gpt-load-scoring",
            "AI_TIMEOUT_SECONDS": "30",
            "RESEND_API_KEY": RESEND_KEY,
            "RESEND_API_URL": resend.url,
            "ACS_CONNECTION_STRING": acs.connection_string,
            "AZURE_SPEECH_KEY": speech.subscription_key,
            "AZURE_SPEECH_REGION": speech.region,
            "AZURE_SPEECH_TOKEN_ENDPOINT": speech.token_url,
            "AUTO_SCORE_ON_CALL_END": "false",
            "RATE_LIMITS": json.dumps(
                {"organisations": f"{ORGANISATIONS_LIMIT}/60", "azure/speech-token": f"{SPEECH_LIMIT}/60"}
            ),
        }
        if args.pool_min is not None:
            env["DB_POOL_MIN"] = str(args.pool_min)
        process, base = start_devhost(env, log_path=OUT / "devhost.log")
        loads = os.getloadavg()
        try:
            watch = PoolWatch(url)
            watch.start()
            # The profile leaves out the ramp-up (first uses import code) and the tail.
            profiler = None if args.no_profile else Profiler(process.pid, max(10, seconds - 25), delay=15)
            print(f"mix: {users} users for {seconds} s against {base}...", flush=True)
            mix = locust("MixUser", base, fixture_path, users=users, spawn_rate=10, seconds=seconds, label="mix")
            pool = watch.stop()
            if profiler is not None:
                profiler.wait(120)
            print("burst: every user at one instant in a fresh limit window...", flush=True)
            burst = locust("BurstUser", base, fixture_path, users=USERS, spawn_rate=USERS, seconds=150, label="burst")
        finally:
            stop(process)
        host_log = (OUT / "devhost.log").read_text(errors="replace")

    checks = []

    def check(ok: bool, what: str) -> None:
        checks.append((ok, what))

    server_errors = {
        name: {s: n for s, n in statuses.items() if int(s) >= 500}
        for part in (mix, burst)
        for name, statuses in part["statuses"].items()
    }
    check(not any(server_errors.values()), f"no 5xx (found: { {k: v for k, v in server_errors.items() if v} })")
    limited = {name: statuses.get("429", 0) for name, statuses in mix["statuses"].items() if statuses.get("429")}
    check(not limited, f"no 429 in the mix at a person's pace (found: {limited})")
    mix_failures = mix["stats"].get("Aggregated", {}).get("failures", 0)
    check(mix_failures == 0, f"no failed request in the mix ({mix_failures})")
    own = {k: v for k, v in burst["buckets"].items() if k != "shared"}
    exact_own = sum(
        1 for v in own.values() if v == {"200": ORGANISATIONS_LIMIT, "429": OWN_REQUESTS - ORGANISATIONS_LIMIT}
    )
    check(
        len(own) == USERS and exact_own == USERS,
        f"own buckets: {exact_own} of {USERS} users got exactly {ORGANISATIONS_LIMIT} x 200 and "
        f"{OWN_REQUESTS - ORGANISATIONS_LIMIT} x 429 (organisations)",
    )
    shared = burst["buckets"].get("shared", {})
    check(
        shared == {"200": SPEECH_LIMIT, "429": USERS * SHARED_REQUESTS - SPEECH_LIMIT},
        f"shared bucket: {shared} for {USERS * SHARED_REQUESTS} concurrent requests, limit {SPEECH_LIMIT}",
    )
    unavailable = sum(statuses.get("503", 0) for part in (mix, burst) for statuses in part["statuses"].values())
    pool_timeouts = host_log.count("PoolTimeout") + host_log.count("couldn't get a connection") + unavailable
    check(
        pool_timeouts == 0,
        f"pool never exhausted: {pool['peak_busy']} statements in flight at most, {pool['peak_open']} connections "
        f"open at most (DB_POOL_MAX={POOL_MAX}), "
        f"all busy in {pool['share_of_samples_all_busy']:.1%} of samples, {pool_timeouts} pool timeouts "
        f"or 503 'Database unavailable'",
    )

    own_totals = Counter(json.dumps(v, sort_keys=True) for v in own.values())
    profile = None if args.no_profile or not (OUT / "profile.txt").exists() else profile_summary(OUT / "profile.txt")
    lines = [
        f"Mix: {users} users, {seconds} s, 2-4 s between a user's calls, model double at realistic latency; "
        f"DB_POOL_MAX={POOL_MAX}, DB_POOL_MIN={env.get('DB_POOL_MIN', 'as configured')}",
        "",
        *table(mix["stats"]),
        "",
        "Burst (rate limits):",
        "",
        *table(burst["stats"]),
        "",
        f"Burst counts (the users' own counters): shared bucket {shared}; own buckets: "
        + ", ".join(f"{n} users {v}" for v, n in own_totals.items()),
        "",
        f"Pool: {json.dumps(pool)}",
        f"Machine: load average {loads[0]:.1f} before the mix, {os.getloadavg()[0]:.1f} after the burst "
        f"({os.cpu_count()} cores)",
        "",
    ]
    lines += [("PASS " if ok else "FAIL ") + what for ok, what in checks]
    if profile:
        lines += [
            "",
            f"Profile of the host in the mix's steady part ({profile['samples']} on-CPU samples at 100 Hz):",
            "by component (innermost frame):",
        ] + [f"  {v:6.1%}  {k}" for k, v in profile["components"]]
        lines += ["functions at the top of the stack:"] + [f"  {v:6.1%}  {k}" for k, v in profile["self"]]
    report = "\n".join(lines)
    print(report)
    (OUT / "summary.md").write_text(report + "\n")
    (OUT / "summary.json").write_text(
        json.dumps(
            {"mix": mix, "burst": burst, "pool": pool, "profile": profile, "checks": checks}, indent=1, default=str
        )
    )
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
