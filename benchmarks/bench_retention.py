"""Retention at scale: recordings of interviews due for deletion (2 ACS chunks
each: a content and a metadata blob per chunk) deleted by `cleanup_recordings`
through the real azure-storage-blob SDK against a fresh PostgreSQL database.

Two storage targets, each measured in this one run:
- Azurite (the real emulator), 250 and 1,000 interviews, each on a fresh
  emulator. Azurite's in-memory metadata store deletes in time that grows
  with the blobs it holds (compare the two rates), so 40,000 deletes there
  take far longer than two minutes whatever the client does;
- a wire-level Blob batch double (benchmarks/blob_batch_double.py, its own
  process, answering at once), 1,000 and 10,000 interviews: our code's time
  and memory, side by side, with the 10k/1k ratios.

Memory: the peak of Python allocations (tracemalloc) and the growth of the
resident set (sampled every 10 ms) during each run. Flat memory means the 10k
run peaks about where the 1k run does.

    .venv/bin/python -m benchmarks.bench_retention [--sizes 1000 10000] [--azurite-sizes 250 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import threading
import time
import tracemalloc
import uuid
from contextlib import contextmanager

from benchmarks.common import ROOT, bench_database
from devhost.azurite import ACCOUNT, ACCOUNT_KEY, running_azurite

CONTAINER = "recordings"
CHUNKS = 2
UPLOAD_CONCURRENCY = 64


async def seed(db, base_url: str, upload, size: int) -> tuple[uuid.UUID, int]:
    """An organisation with `size` interviews that ended long ago, whose
    recordings `upload` puts in the container at `base_url`."""
    from shared.db import jsonb

    org = (await db.fetch_one("insert into organisations (name) values (%s) returning id", (f"Bench {size}",)))["id"]
    role = (await db.fetch_one("insert into job_roles (organisation_id, title) values (%s, 'Engineer') returning id",
                               (org,)))["id"]
    names, rows = [], []
    for _ in range(size):
        user, application, interview = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        chunks = []
        for index in range(CHUNKS):
            document = uuid.uuid4().hex
            content, meta = f"{interview}/{document}/content.mp4", f"{interview}/{document}/metadata.json"
            names += [content, meta]
            chunks.append({"documentId": document, "index": index, "contentLocation": f"{base_url}/{content}",
                           "metadataLocation": f"{base_url}/{meta}",
                           "deleteLocation": f"https://us-storage.asm.skype.com/v1/objects/{document}"})
        rows.append((user, application, interview, chunks))
    async with db.transaction() as conn, conn.cursor() as cur:
        async with cur.copy("copy auth.users (id, email) from stdin") as copy:
            for user, *_ in rows:
                await copy.write_row((user, f"{user.hex[:12]}@bench.test"))
        async with cur.copy("copy applications (id, job_role_id, candidate_id, status) from stdin") as copy:
            for user, application, *_ in rows:
                await copy.write_row((application, role, user, "interviewed"))
        async with cur.copy("copy interviews (id, application_id, status, started_at, ended_at, recording_url, "
                            "metadata) from stdin") as copy:
            for _, application, interview, chunks in rows:
                await copy.write_row((interview, application, "completed", "2020-01-01 10:00+00",
                                      "2020-01-01 10:30+00", chunks[0]["contentLocation"],
                                      jsonb({"recordings": chunks})))
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


async def cleanup(db, store, org) -> tuple[int, float, int]:
    """One cleanup run: (interviews processed, seconds, resident set growth)."""
    from shared.auth import SERVICE_CALLER
    from shared.services.retention import cleanup_recordings

    with RssSampler() as rss:
        started = time.perf_counter()
        result = await cleanup_recordings(db, store, caller=SERVICE_CALLER, organisation_id=org)
        elapsed = time.perf_counter() - started
    return result.totalDeleted, elapsed, rss.growth


async def measure(db, store, seed_org, size: int, blobs_left, *, traced: bool = True) -> dict:
    """Time one run; then, on a second identical data set, trace its allocations
    (tracemalloc slows Python down, so it never runs during the timed run)."""
    org, blobs = await seed_org(size)
    processed, seconds, rss_growth = await cleanup(db, store, org)
    result = {"size": size, "blobs": blobs, "processed": processed, "seconds": seconds, "rss_growth": rss_growth,
              "traced_peak": None}
    if traced:
        org, _ = await seed_org(size)
        tracemalloc.start()
        await cleanup(db, store, org)
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    remaining = await db.fetch_one(
        """select count(*) as n from interviews i join applications a on a.id = i.application_id
           join job_roles r on r.id = a.job_role_id
           where r.organisation_id in (select id from organisations where name like 'Bench %%')
             and i.recording_deleted_at is null""")
    return {**result, "blobs_left": await blobs_left(), "rows_left": remaining["n"]}


@contextmanager
def batch_double():
    """The Blob batch double in its own process; yields its connection string."""
    import sys

    process = subprocess.Popen([sys.executable, "-m", "benchmarks.blob_batch_double"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())
        yield (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
               f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    finally:
        process.terminate()
        process.wait(10)


async def run_on_azurite(db, size: int, on_disk: bool = False) -> dict:
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
                print(f"azurite: seeded {n} interviews, {seeded[1]} blobs in {time.perf_counter() - started:.0f} s",
                      flush=True)
                return seeded

            store = RecordingStore(CONTAINER, connection_string=connection_string)
            return {"target": "Azurite disk" if on_disk else "Azurite", **await measure(db, store, seed_org, size, blobs_left, traced=False)}


async def run_on_double(db, sizes: list[int]) -> list[dict]:
    import httpx

    from shared.adapters.recordings import RecordingStore, blob_endpoint

    results = []
    with batch_double() as connection_string:
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

            await measure(db, store, seed_org, 20, blobs_left)  # warm-up: imports and first connections
            for size in sizes:
                results.append({"target": "batch double", **await measure(db, store, seed_org, size, blobs_left)})
                print(f"double: {size} interviews done", flush=True)
    return results


async def main(sizes: list[int], azurite_sizes: list[int], azurite_on_disk: bool = False) -> None:
    from shared.db import Database

    with bench_database() as url:
        db = Database(url, min_size=1, max_size=4)
        await db.fetch_one("select 1")  # open the pool before measuring
        results = await run_on_double(db, sizes)
        for size in azurite_sizes:  # a fresh emulator each: its delete cost grows with the blobs it holds
            results.append(await run_on_azurite(db, size, azurite_on_disk))
        await db.close()

    print()
    print(f"{'storage':<14} {'interviews':>10} {'blobs':>7} {'seconds':>8} {'interviews/s':>13} {'blobs/s':>8} "
          f"{'traced peak':>12} {'RSS growth':>11} {'left (blobs, rows)':>19}")
    for r in results:
        print(f"{r['target']:<14} {r['size']:>10} {r['blobs']:>7} {r['seconds']:>8.1f} "
              f"{r['processed'] / r['seconds']:>13.0f} {r['blobs'] / r['seconds']:>8.0f} "
              f"{_mb(r['traced_peak']):>12} {_mb(r['rss_growth']):>11} "
              f"{str((r['blobs_left'], r['rows_left'])):>19}")
    if len(sizes) >= 2:
        small, large = results[0], results[len(sizes) - 1]
        print(f"\nratios {large['size']}/{small['size']} (batch double): time x{large['seconds'] / small['seconds']:.1f}, "
              f"traced peak x{large['traced_peak'] / small['traced_peak']:.2f}, "
              f"RSS growth x{large['rss_growth'] / max(small['rss_growth'], 1):.2f}")


def _mb(value) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MB"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="interviews per run against the batch double")
    parser.add_argument("--azurite-sizes", type=int, nargs="*", default=[250, 1000],
                        help="interviews per run against Azurite (none: skip)")
    parser.add_argument("--azurite-on-disk", action="store_true",
                        help="Azurite keeps blobs on disk (faster deletes at scale) instead of in memory")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.azurite_sizes, arguments.azurite_on_disk))
