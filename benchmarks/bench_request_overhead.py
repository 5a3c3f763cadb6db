"""Request overhead through the local host: POST /api/organisations (auth,
validation, rate limit, one transaction) against GET /api/health, interleaved
in one run. Target: median ratio at most 2.0."""

from __future__ import annotations

import asyncio
import json
import uuid

from benchmarks.common import bench_database, interleaved, local_client, local_host, report, signed_in


async def run(base: str, database_url: str, rounds: int) -> dict:
    headers = await signed_in(database_url)
    async with local_client(base) as client:

        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def create_organisation() -> bool:
            body = {
                "name": f"Bench {uuid.uuid4().hex[:8]}",
                "industry": "Software",
                "website": "https://bench.example",
                "billing_email": "billing@bench.example",
            }
            return (await client.post("/api/organisations", json=body, headers=headers)).status_code == 200

        series = await interleaved(
            {"GET /api/health": health, "POST /api/organisations": create_organisation}, rounds=rounds, concurrency=4
        )
    return report(series, "POST /api/organisations", "GET /api/health", target="<= 2.0")


def main(rounds: int = 400) -> dict:
    with bench_database() as url:
        env = {"DATABASE_URL": url, "RATE_LIMITS": json.dumps({"organisations": "1000000/60"})}
        with local_host(env) as base:
            return asyncio.run(run(base, url, rounds))


if __name__ == "__main__":
    main()
