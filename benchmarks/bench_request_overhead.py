"""Request overhead through the local host: POST /api/organisations (auth,
validation, rate limit, one transaction) against GET /api/health, interleaved
in one run. Target: median ratio under 3."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from benchmarks.common import bench_database, interleaved, local_host


async def run(base: str, database_url: str, rounds: int) -> dict:
    from scripts.dev_token import main as mint_token

    import os

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("APP_ENV", "test")
    user = uuid.uuid4()
    token = await mint_token(user)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=8, max_keepalive_connections=8)) as client:
        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def create_organisation() -> bool:
            body = {"name": f"Bench {uuid.uuid4().hex[:8]}", "industry": "Software",
                    "website": "https://bench.example", "billing_email": "billing@bench.example"}
            return (await client.post("/api/organisations", json=body, headers=headers)).status_code == 200

        series = await interleaved({"GET /api/health": health, "POST /api/organisations": create_organisation},
                                   rounds=rounds, concurrency=4)
    for s in series.values():
        print(s.line())
    ratio = series["POST /api/organisations"].median / series["GET /api/health"].median
    print(f"median ratio organisations/health = {ratio:.2f} (target < 3)")
    return {name: {"median_ms": s.median, "p99_ms": s.p99, "errors": s.errors} for name, s in series.items()} | {
        "ratio": ratio}


def main(rounds: int = 400) -> dict:
    with bench_database() as url:
        env = {"DATABASE_URL": url, "RATE_LIMITS": json.dumps({"organisations": "1000000/60"})}
        with local_host(env) as base:
            return asyncio.run(run(base, url, rounds))


if __name__ == "__main__":
    main()
