"""GET /api/health (status and database reachability, its contract since the
start), and the split the platform's probes need:

- /api/health/live: the process answers. Nothing else is touched, so a
  database blip never reads as "restart this container".
- /api/health/ready: the database and the Blob storage the settings point at
  answer, each within a short timeout; 503 naming what does not. For the
  availability test and the smoke test after a deploy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from pydantic import Field

from shared.platform.logs import log_event
from shared.platform.models import ApiModel
from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs

if TYPE_CHECKING:
    from shared.platform.db import Database

CHECK_TIMEOUT_SECONDS = 3.0
Check = Literal["ok", "unavailable", "skipped"]


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


class LiveReport(TypedDict):
    status: Literal["ok"]
    version: str


class ReadyChecks(ApiModel):
    """Each check's outcome; `skipped`: not configured, or not a Blob container."""

    database: Check
    recordings_storage: Check
    cv_storage: Check


class ReadyReport(ApiModel):
    status: Literal["ready", "not_ready"]
    version: str
    checks: ReadyChecks
    notReady: list[str] = Field(description="The checks that failed, by name (empty when ready)")


class Probe(Protocol):
    async def check(self) -> None: ...


def live_report(version: str) -> LiveReport:
    return {"status": "ok", "version": version}


async def check_ready(
    db: Database, probes: Mapping[str, Probe], version: str, timeout: float = CHECK_TIMEOUT_SECONDS
) -> ReadyReport:
    """Every check at once, each bounded by `timeout`; a failure is named, never described
    (the reason goes to the log: an anonymous caller learns nothing about the setup)."""

    async def run(name: str, check: Any) -> Check:
        try:
            await asyncio.wait_for(check, timeout)
        except Exception as exc:  # unreachable, timed out, refused, misconfigured: all "unavailable"
            log_event("health.not_ready", level=logging.WARNING, check=name, error=type(exc).__name__)
            return "unavailable"
        return "ok"

    names = ["database", *probes]
    results = await asyncio.gather(
        run("database", db.fetch_one("select 1 as ok")), *(run(name, probe.check()) for name, probe in probes.items())
    )
    checks: dict[str, Check] = {name: "skipped" for name in ReadyChecks.model_fields}
    checks.update(zip(names, results))
    failed = [name for name, result in checks.items() if result == "unavailable"]
    return ReadyReport(
        status="not_ready" if failed else "ready",
        version=version,
        checks=ReadyChecks.model_validate(checks),
        notReady=failed,
    )


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


class LiveDocs(OperationDocs):
    """Only a 200: it needs nothing but the process."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "The process is up (nothing else is checked)",
                "headers": dict(REQUEST_ID_HEADER),
                "content": document.json(LiveReport),
            }
        }


class ReadyDocs(OperationDocs):
    """Its own 200 and 503, both the report."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        report = document.json(ReadyReport)
        return {
            "200": {
                "description": "Ready: the database and the configured Blob storage answer",
                "headers": dict(REQUEST_ID_HEADER),
                "content": report,
            },
            "503": {
                "description": "Not ready: `notReady` names the checks that failed",
                "headers": dict(REQUEST_ID_HEADER),
                "content": report,
            },
        }
