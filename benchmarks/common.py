"""Shared benchmark plumbing: a throwaway database, the local host, and a
small load tool that interleaves endpoints so they share the same noise."""

from __future__ import annotations

import asyncio
import glob
import io
import os
import statistics
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, migrated database (DATABASE_URL's server, else the embedded one)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from shared.platform.migrate import migrate

    server = os.environ.get("DATABASE_URL")
    if not server:
        from shared.platform.embedded_db import start_embedded_postgres

        server = start_embedded_postgres(Path(ROOT) / ".local" / "pg")
    name = f"talenti_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_conninfo(**{**conninfo_to_dict(server), "dbname": name})
    migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def model_double_env(database_url: str, model_url: str, rate_limits: dict[str, str]) -> dict[str, str]:
    """A local host's settings for the database and an OpenAI-compatible model
    double at `model_url`, with the given rate limits (`RATE_LIMITS`)."""
    import json

    return {
        "DATABASE_URL": database_url,
        "AI_BASE_URL": model_url + "/v1",
        "AI_API_KEY": "sk-bench",
        "AI_MODEL": "gpt-bench",
        "RATE_LIMITS": json.dumps(rate_limits),
    }


@contextmanager
def local_host(env: dict[str, str]) -> Iterator[str]:
    with host_process(env) as (base, _):
        yield base


@contextmanager
def host_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A local host for benchmarks: its base URL and process id."""
    from devhost.launch import start_devhost, stop

    process, base = start_devhost({"APP_ENV": "test", "LOG_LEVEL": "WARNING", "DB_AUTO_MIGRATE": "false", **env})
    try:
        yield base, process.pid
    finally:
        stop(process)


@contextmanager
def exported_tree(baseline: str | None, paths: list[str]) -> Iterator[Path]:
    """HEAD's files in a temporary directory; with `baseline`, `paths` as they
    were at that commit. Run a host from it with PYTHONPATH set to it and
    PYTHONSAFEPATH=1, to compare two versions side by side in one run."""
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as directory:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(directory, filter="data")
        for path in paths if baseline else []:
            old = subprocess.run(["git", "show", f"{baseline}:{path}"], cwd=ROOT, capture_output=True, check=True)
            (Path(directory) / path).write_bytes(old.stdout)
        yield Path(directory)


def cpu_seconds(pids) -> float:
    """User and system CPU time of processes, from /proc (gone ones count nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks


def backends_of(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (their titles name it)."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as cmdline:
                title = cmdline.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            pids.append(int(path.split("/")[2]))
    return pids


@dataclass
class Series:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    def line(self) -> str:
        return (
            f"{self.name:<28} n={len(self.latencies_ms):<5} median={self.median:7.2f} ms  "
            f"p99={self.p99:7.2f} ms  errors={self.errors}"
        )


async def interleaved(
    operations: dict[str, Callable[[], Awaitable[bool]]], rounds: int, concurrency: int = 4, warmup: int = 20
) -> dict[str, Series]:
    """Run every operation `rounds` times, interleaved (A, B, A, B...) across
    `concurrency` workers, so each sees the same machine load. An operation
    returns True on success."""
    series = {name: Series(name) for name in operations}
    names = list(operations)
    for i in range(warmup):
        await operations[names[i % len(names)]]()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _ in range(rounds):
        for name in names:
            queue.put_nowait(name)

    async def worker() -> None:
        while not queue.empty():
            name = queue.get_nowait()
            started = time.perf_counter()
            ok = await operations[name]()
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                series[name].latencies_ms.append(elapsed)
            else:
                series[name].errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return series


def local_client(base: str):
    """An HTTP client for the local host: keep-alive, enough connections for the workers."""
    import httpx

    return httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=8, max_keepalive_connections=8)
    )


async def signed_in(database_url: str, user_id: uuid.UUID | None = None) -> dict[str, str]:
    """Authorization headers for a user created in the benchmark database."""
    from scripts.dev_token import main as mint_token

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("APP_ENV", "test")
    return {"authorization": f"Bearer {await mint_token(user_id or uuid.uuid4())}"}


def report(series: dict[str, Series], measured: str, baseline: str, target: str = "") -> dict:
    """Print every series and the median ratio measured/baseline; return the figures."""
    for s in series.values():
        print(s.line())
    ratio = series[measured].median / series[baseline].median
    print(f"median ratio {measured} / {baseline} = {ratio:.2f}" + (f" (target {target})" if target else ""))
    return {name: {"median_ms": s.median, "p99_ms": s.p99, "errors": s.errors} for name, s in series.items()} | {
        "ratio": ratio
    }
