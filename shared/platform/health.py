"""Liveness and database reachability for GET /api/health."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs

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


class HealthDocs(OperationDocs):
    """Its own 200 and 503, both the report."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        report = document.json(HealthReport)
        return {
            "200": {"description": "Up, database reachable", "headers": dict(REQUEST_ID_HEADER), "content": report},
            "503": {
                "description": "Degraded: the database cannot be reached",
                "headers": dict(REQUEST_ID_HEADER),
                "content": report,
            },
        }


class OpenApiDocs(OperationDocs):
    """The document itself."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "This document",
                "headers": dict(REQUEST_ID_HEADER),
                "content": {JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
            }
        }
