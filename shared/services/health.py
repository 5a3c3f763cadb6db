"""Liveness and database reachability for GET /api/health."""

from __future__ import annotations

import asyncio


async def check_health(db, version: str, timeout: float = 3.0) -> tuple[bool, dict]:
    try:
        await asyncio.wait_for(db.fetch_one("select 1 as ok"), timeout)
        database = "ok"
    except Exception:  # unreachable, timed out, misconfigured: all "unavailable"
        database = "unavailable"
    healthy = database == "ok"
    return healthy, {"status": "ok" if healthy else "degraded", "version": version, "database": database}
