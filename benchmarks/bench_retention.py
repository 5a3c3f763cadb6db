"""Retention at scale: recordings of interviews due for deletion (2 ACS chunks
each: a content and a metadata blob per chunk) deleted by `cleanup_recordings`
through the real azure-storage-blob SDK against a fresh PostgreSQL database.

Two storage targets, each measured in this one run:
- Azurite (the real emulator), 250 and 1,000 interviews, each on a fresh
  emulator. Azurite's in-memory metadata store deletes in time that grows
  with the blobs it holds (compare the two rates), so 40,000 deletes there
  take far longer than two minutes whatever the client does;
- a wire-level Blob batch double (benchmarks/blob_batch_double.py, its own
  process, answering at once), 1,000, 10,000 and 100,000 interviews: our
  code's time and memory, side by side, with the ratios of each size to the
  one before.

Time: wall seconds, and CPU seconds of the three processes at work (this one,
the double, and the PostgreSQL backends of the benchmark's database), which a
busy machine inflates far less than wall time.

Memory: the growth of the resident set (sampled every 10 ms) during each run,
and the peak of Python allocations (tracemalloc) in a second run on an
identical data set, for sizes up to --trace-max. Flat memory means the large
runs peak about where the small one does.

With --page-queries only the page queries of `due_interviews` run, timed
page by page on a fresh data set of each size (rows marked as a run marks
them, no blobs), with EXPLAIN ANALYZE of the first and the middle page.

With --repeat N the sizes run N times in turn (1,000, 10,000, 1,000, 10,000,
...) and the ratios compare each size's median run: a run of a few seconds
moves with any burst of other work on a shared machine.

    .venv/bin/python -m benchmarks.bench_retention [--sizes 1000 10000 100000] [--azurite-sizes 250 1000]
                                                   [--repeat 1] [--page-queries]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from contextlib import contextmanager

from benchmarks.common import ROOT, backends_of, bench_database, cpu_seconds
from devhost.azurite import ACCOUNT, ACCOUNT_KEY, running_azurite

CONTAINER = "recordings"
CHUNKS = 2
UPLOAD_CONCURRENCY = 64


async def seed(db, base_url: str, upload, size: int) -> tuple[uuid.UUID, int]:
    """An organisation with `size` interviews that ended long ago, whose
    recordings `upload` puts in the container at `base_url`."""
    from shared.platform.db import jsonb

    org = (await db.fetch_one("insert into organisations (name) values (%s) returning id", (f"Bench {size}",)))["id"]
    role = (
        await db.fetch_one(
            "insert into job_roles (organisation_id, title) values (%s, 'Engineer') returning id", (org,)
        )
    )["id"]
    names, rows = [], []
    for _ in range(size):
        user, application, interview = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        chunks = []
        for index in range(CHUNKS):
            document = uuid.uuid4().hex
            content, meta = f"{interview}/{document}/content.mp4", f"{interview}/{document}/metadata.json"
            names += [content, meta]
            chunks.append(
                {
                    "documentId": document,
                    "index": index,
                    "contentLocation": f"{base_url}/{content}",
                    "metadataLocation": f"{base_url}/{meta}",
                    "deleteLocation": f"https://us-storage.asm.skype.com/v1/objects/{document}",
                }
            )
        rows.append((user, application, interview, chunks))
    async with db.transaction() as conn, conn.cursor() as cur:
        async with cur.copy("copy auth.users (id, email) from stdin") as copy:
            for user, *_ in rows:
                await copy.write_row((user, f"{user.hex[:12]}@bench.test"))
        async with cur.copy("copy applications (id, job_role_id, candidate_id, status) from stdin") as copy:
            for user, application, *_ in rows:
                await copy.write_row((application, role, user, "interviewed"))
        async with cur.copy(
            "copy interviews (id, application_id, status, started_at, ended_at, recording_url, metadata) from stdin"
        ) as copy:
            for _, application, interview, chunks in rows:
                await copy.write_row(
                    (
                        interview,
                        application,
                        "completed",
                        "2020-01-01 10:00+00",
                        "2020-01-01 10:30+00",
                        chunks[0]["contentLocation"],
                        jsonb({"recordings": chunks}),
                    )
                )
    await upload(names)
    return org, len(names)


class RssSampler:
    """Peak resident set size above the starting point, sampled in a thread."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


class CpuMeter:
    """CPU seconds of this process, the storage double and the database's backends."""

    def __init__(self, database: str, double_pid: int | None):
        self.database, self.double_pid = database, double_pid

    def read(self) -> dict:
        return {
            "app": time.process_time(),
            "double": cpu_seconds([self.double_pid] if self.double_pid else []),
            "db": cpu_seconds(backends_of(self.database)),
        }


async def cleanup(db, store, org, meter: CpuMeter) -> tuple[int, float, int, dict]:
    """One cleanup run: (interviews processed, seconds, resident set growth, CPU seconds by process)."""
    from shared.platform.auth import SERVICE_CALLER
    from shared.retention.recordings import cleanup_recordings

    with RssSampler() as rss:
        before = meter.read()
        started = time.perf_counter()
        result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
        elapsed = time.perf_counter() - started
        after = meter.read()
    return result.totalDeleted, elapsed, rss.growth, {k: after[k] - before[k] for k in after}


async def measure(db, store, seed_org, size: int, blobs_left, meter: CpuMeter, *, traced: bool = True) -> dict:
    """Time one run; then, on a second identical data set, trace its allocations
    (tracemalloc slows Python down, so it never runs during the timed run)."""
    org, blobs = await seed_org(size)
    processed, seconds, rss_growth, cpu = await cleanup(db, store, org, meter)
    result = {
        "size": size,
        "blobs": blobs,
        "processed": processed,
        "seconds": seconds,
        "rss_growth": rss_growth,
        "cpu": cpu,
        "traced_peak": None,
    }
    if traced:
        org, _ = await seed_org(size)
        tracemalloc.start()
        await cleanup(db, store, org, meter)
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    remaining = await db.fetch_one(
        """select count(*) as n from interviews i join applications a on a.id = i.application_id
           join job_roles r on r.id = a.job_role_id
           where r.organisation_id in (select id from organisations where name like 'Bench %%')
             and i.recording_deleted_at is null"""
    )
    return {**result, "blobs_left": await blobs_left(), "rows_left": remaining["n"]}


@contextmanager
def batch_double():
    """The Blob batch double in its own process; yields (its connection string, its pid)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.blob_batch_double"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(process.stdout.readline())
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};",
            process.pid,
        )
    finally:
        process.terminate()
        process.wait(10)


async def run_on_azurite(db, database: str, size: int, on_disk: bool = False) -> dict:
    from azure.storage.blob.aio import BlobServiceClient

    from shared.adapters.recordings import RecordingStore

    with running_azurite(on_disk=on_disk) as connection_string:
        async with BlobServiceClient.from_connection_string(connection_string) as service:
            container = service.get_container_client(CONTAINER)
            await container.create_container()
            semaphore = asyncio.Semaphore(UPLOAD_CONCURRENCY)

            async def upload_one(name: str) -> None:
                async with semaphore:
                    await container.upload_blob(name, b"\x00" * 64)

            async def upload(names) -> None:
                await asyncio.gather(*(upload_one(name) for name in names))

            async def blobs_left() -> int:
                return len([blob async for blob in container.list_blobs()])

            async def seed_org(n: int):
                started = time.perf_counter()
                seeded = await seed(db, container.url, upload, n)
                print(
                    f"azurite: seeded {n} interviews, {seeded[1]} blobs in {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
                return seeded

            store = RecordingStore(CONTAINER, connection_string=connection_string)
            meter = CpuMeter(database, None)  # Azurite's own CPU is not ours
            return {
                "target": "Azurite disk" if on_disk else "Azurite",
                **await measure(db, store, seed_org, size, blobs_left, meter, traced=False),
            }


async def run_on_double(db, database: str, sizes: list[int], trace_max: int) -> list[dict]:
    import httpx

    from shared.adapters.recordings import RecordingStore, blob_endpoint

    results = []
    with batch_double() as (connection_string, double_pid):
        meter = CpuMeter(database, double_pid)
        endpoint = blob_endpoint(connection_string)
        origin = endpoint.rsplit("/", 1)[0]
        store = RecordingStore(CONTAINER, connection_string=connection_string)
        async with httpx.AsyncClient(base_url=origin, timeout=60) as client:

            async def upload(names) -> None:
                (await client.post("/_seed", content="\n".join(names))).raise_for_status()

            async def blobs_left() -> int:
                return int((await client.get("/_count")).text)

            async def seed_org(n: int):
                return await seed(db, f"{endpoint}/{CONTAINER}", upload, n)

            await measure(db, store, seed_org, 20, blobs_left, meter)  # warm-up: imports and first connections
            for size in sizes:
                results.append(
                    {
                        "target": "batch double",
                        **await measure(db, store, seed_org, size, blobs_left, meter, traced=size <= trace_max),
                    }
                )
                print(f"double: {size} interviews done", flush=True)
    return results


async def run(
    sizes: list[int],
    azurite_sizes: list[int],
    azurite_on_disk: bool = False,
    trace_max: int = 10_000,
    repeat: int = 1,
) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from shared.platform.db import Database

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    with bench_database() as url:
        database = conninfo_to_dict(url)["dbname"]
        db = Database(url, min_size=1, max_size=4)
        await db.fetch_one("select 1")  # open the pool before measuring
        results = await run_on_double(db, database, sizes * repeat, trace_max)
        for size in azurite_sizes:  # a fresh emulator each: its delete cost grows with the blobs it holds
            results.append(await run_on_azurite(db, database, size, azurite_on_disk))
        await db.close()

    print()
    print(
        f"{'storage':<14} {'interviews':>10} {'blobs':>7} {'seconds':>8} {'interviews/s':>13} "
        f"{'CPU s (app+double+db)':>22} {'traced peak':>12} {'RSS growth':>11} {'left (blobs, rows)':>19}"
    )
    for r in results:
        cpu = r["cpu"]
        cpu_text = f"{sum(cpu.values()):.1f} ({cpu['app']:.1f}+{cpu['double']:.1f}+{cpu['db']:.1f})"
        print(
            f"{r['target']:<14} {r['size']:>10} {r['blobs']:>7} {r['seconds']:>8.1f} "
            f"{r['processed'] / r['seconds']:>13.0f} {cpu_text:>22} "
            f"{_mb(r['traced_peak']):>12} {_mb(r['rss_growth']):>11} "
            f"{(r['blobs_left'], r['rows_left'])!s:>19}"
        )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    runs: dict[int, list[dict]] = {}
    for r in results:
        if r["target"] == "batch double":
            runs.setdefault(r["size"], []).append(r)
    typical = {size: _median_run(each) for size, each in runs.items()}
    for small_size, large_size in itertools.pairwise(sorted(typical)):
        small, large = typical[small_size], typical[large_size]
        traced = (
            f", traced peak x{large['traced_peak'] / small['traced_peak']:.2f}"
            if large["traced_peak"] and small["traced_peak"]
            else ""
        )
        print(
            f"ratios {large_size}/{small_size} (batch double, x{large_size / small_size:g} the work"
            f"{', median of ' + str(len(runs[small_size])) + ' runs each' if len(runs[small_size]) > 1 else ''}): "
            f"time x{large['seconds'] / small['seconds']:.1f}, "
            f"CPU x{sum(large['cpu'].values()) / sum(small['cpu'].values()):.1f}{traced}, "
            f"RSS growth {_mb(small['rss_growth'])} -> {_mb(large['rss_growth'])}"
        )


def _median_run(runs: list[dict]) -> dict:
    """The runs of one size as one: median seconds and CPU seconds, the largest memory figures."""
    if len(runs) == 1:
        return runs[0]
    peaks = [r["traced_peak"] for r in runs if r["traced_peak"]]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu": {key: statistics.median(r["cpu"][key] for r in runs) for key in runs[0]["cpu"]},
        "traced_peak": max(peaks) if peaks else None,
        "rss_growth": max(r["rss_growth"] for r in runs),
    }


async def page_queries(sizes: list[int]) -> None:
    """Each page's two queries alone, and their plans (see the module's docstring)."""
    from datetime import UTC, datetime

    from shared.platform.db import Database
    from shared.retention import queries

    async def no_upload(_names) -> None:
        return None

    with bench_database() as url:
        db = Database(url, min_size=1, max_size=2)
        for size in sizes:
            org, _ = await seed(db, "http://127.0.0.1:9/bench/recordings", no_upload, size)
            now, after, times, plans = datetime.now(UTC), queries.FIRST_ID, [], []
            middle = size // 200 + 1
            while after is not None:
                async with db.transaction() as conn:
                    started = time.perf_counter()
                    page = await queries.due_interviews(
                        conn, now=now, after=after, limit=100, organisation_id=org, lock=True
                    )
                    times.append((time.perf_counter() - started) * 1000)
                    if len(times) in (1, middle):  # the same page again, timed above before this
                        plans.append(await _page_plans(conn, after, now, org))
                    after = page.next_after
                    if page.rows:
                        await conn.execute(
                            "update interviews set recording_deleted_at = now(), recording_url = null"
                            " where id = any(%s)",
                            ([row["id"] for row in page.rows],),
                        )
            print(
                f"{size} interviews: {len(times)} pages, {sum(times):.0f} ms in all "
                f"({sum(times) / size:.3f} ms an interview), first page {times[0]:.1f} ms, "
                f"median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms"
            )
            for label, lines in zip(("first page", f"page {middle}"), plans, strict=True):
                print(f"  {label}:")
                for line in lines:
                    print(f"    {line}")
        await db.close()


async def _page_plans(conn, after, now, org) -> list[str]:
    """EXPLAIN ANALYZE of one page's two queries, a line per plan node."""
    from shared.platform.db import fetch_all
    from shared.retention import queries

    ids = [row["id"] for row in await fetch_all(conn, queries._CANDIDATES, {"after": after, "limit": 100})]
    lines = []
    for name, sql, params in (
        ("next ids", queries._CANDIDATES, {"after": after, "limit": 100}),
        (
            "due among them",
            queries._DUE_AMONG + " for update of i skip locked",
            {"ids": ids, "now": now, "organisation": org},
        ),
    ):
        rows = await fetch_all(conn, "explain (analyze, buffers, format json) " + sql, params)
        plan = rows[0]["QUERY PLAN"][0]
        lines.append(f"{name}: {plan['Execution Time']:.2f} ms")
        lines += _plan_lines(plan["Plan"], 1)
    return lines


def _plan_lines(node: dict, depth: int) -> list[str]:
    where = " ".join(
        part
        for part in (
            f"using {node['Index Name']}" if "Index Name" in node else "",
            f"on {node['Relation Name']}" if "Relation Name" in node else "",
        )
        if part
    )
    line = (
        f"{'  ' * depth}{node['Node Type']} {where}".rstrip()
        + f": rows {node.get('Actual Rows', 0)} x {node.get('Actual Loops', 1)} loops, "
        + f"{node.get('Actual Total Time', 0):.2f} ms, buffers {node.get('Shared Hit Blocks', 0)}"
    )
    return [line] + [x for child in node.get("Plans", []) for x in _plan_lines(child, depth + 1)]


def _mb(value) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1000, 10000, 100000],
        help="interviews per run against the batch double",
    )
    parser.add_argument(
        "--azurite-sizes",
        type=int,
        nargs="*",
        default=[250, 1000],
        help="interviews per run against Azurite (none: skip)",
    )
    parser.add_argument(
        "--azurite-on-disk",
        action="store_true",
        help="Azurite keeps blobs on disk (faster deletes at scale) instead of in memory",
    )
    parser.add_argument(
        "--trace-max", type=int, default=10_000, help="trace Python allocations (a second run) for sizes up to this one"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the sizes this many times in turn; ratios of the medians"
    )
    parser.add_argument(
        "--page-queries", action="store_true", help="time only the page queries, with their plans (no blobs)"
    )
    arguments = parser.parse_args(argv or [])  # `make bench` calls main() with its own argv in place
    if arguments.page_queries:
        asyncio.run(page_queries(arguments.sizes))
    else:
        asyncio.run(
            run(
                arguments.sizes,
                arguments.azurite_sizes,
                arguments.azurite_on_disk,
                arguments.trace_max,
                arguments.repeat,
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
