"""Liveness and database reachability for GET /api/health."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from shared.platform.db import Database


class HealthReport(TypedDict):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unavailable"]


async def check_health(db: Database, version: str, timeout: float = 3.0) -> HealthReport:
    """`degraded` while the database cannot be reached (the app keeps answering, with 503s)."""
    try:
        await asyncio.wait_for(db.fetch_one("select 1 as ok"), timeout)
    except Exception:  # unreachable, timed out, misconfigured: all "unavailable"
        return {"status": "degraded", "version": version, "database": "unavailable"}
    return {"status": "ok", "version": version, "database": "ok"}
