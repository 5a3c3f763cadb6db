"""Recordings past their organisation's retention period: planned per interview,
deleted blob by blob, and the interview rows changed only once every blob is
gone (see the package's rules in service.py)."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from shared.adapters.ports import BlobDeleter, Database, RecordingBlobs
from shared.adapters.recordings import NOT_CONFIGURED as RECORDINGS_NOT_CONFIGURED
from shared.calls import recording_metadata
from shared.platform import audit
from shared.platform.auth import Caller
from shared.platform.errors import NotConfigured, NotFound
from shared.platform.logs import log_event
from shared.retention import queries
from shared.retention.models import (
    CleanupRecordingsResponse,
    OrganisationResult,
)

if TYPE_CHECKING:
    from shared.platform.db import Conn

PAGE_SIZE = 100  # interviews per transaction: up to about 400 blobs, two batches side by side


# --- Deleting an interview's recordings -----------------------------------------------


@dataclass
class RecordingPlan:
    interview: dict[str, Any]
    blobs: list[str] = field(default_factory=list)  # names in our container
    unmanaged: list[str] = field(default_factory=list)  # other URLs: never deleted, reported, kept on the row

    @property
    def reported_urls(self) -> list[str]:
        return [redact_url(url) for url in self.unmanaged]


def plan_recordings(interview: dict[str, Any], store: RecordingBlobs) -> RecordingPlan:
    plan = RecordingPlan(interview)
    for url in recording_metadata.recording_urls(interview.get("recording_url"), interview.get("metadata")):
        name = store.blob_name(url)
        if name is None:
            plan.unmanaged.append(url)
        else:
            plan.blobs.append(name)
    return plan


def redact_url(url: str) -> str:
    """Where a URL points, without user info, query (SAS tokens) or fragment."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:300]
    except ValueError:
        return "<unparseable URL>"


@dataclass
class DeleteOutcome:
    deleted: list[RecordingPlan]  # every location was ours and is gone: marked deleted
    unmanaged: list[RecordingPlan]  # ours are gone, others remain: reported, not marked deleted
    failed: list[RecordingPlan]  # a blob of ours could not be deleted: untouched, for the next run


def sort_plans(plans: list[RecordingPlan], failed_names: frozenset[str] | set[str] = frozenset()) -> DeleteOutcome:
    ok = [plan for plan in plans if failed_names.isdisjoint(plan.blobs)]
    return DeleteOutcome(
        deleted=[plan for plan in ok if not plan.unmanaged],
        unmanaged=[plan for plan in ok if plan.unmanaged],
        failed=[plan for plan in plans if not failed_names.isdisjoint(plan.blobs)],
    )


async def delete_recordings(
    conn: Conn, session: BlobDeleter, plans: list[RecordingPlan], *, user_id: UUID | None, reason: dict[str, Any]
) -> DeleteOutcome:
    """Delete the plans' blobs; then, for every interview whose blobs are all
    gone, clear what pointed at them and write an audit entry (in `conn`'s
    transaction). An interview is marked deleted only when no location outside
    our container remains: those are reported on every run until resolved
    (docs/RETENTION.md)."""
    names = [name for plan in plans for name in plan.blobs]
    failed_names = await session.delete(names) if names else set()
    outcome = sort_plans(plans, failed_names)
    await queries.clear_recordings(
        conn, [(plan.interview, plan.unmanaged) for plan in outcome.deleted + outcome.unmanaged]
    )

    def entry(plan: RecordingPlan, action: str, **values: Any) -> dict[str, Any]:
        return {
            "action": action,
            "entity_type": "interview",
            "entity_id": plan.interview["id"],
            "user_id": user_id,
            "organisation_id": plan.interview["organisation_id"],
            "new_values": {**reason, **_retention_days(plan.interview), "blobsDeleted": len(plan.blobs), **values},
        }

    await audit.record_many(
        conn,
        [entry(plan, "interview.recording_deleted") for plan in outcome.deleted]
        + [
            entry(
                plan,
                "interview.recording_not_deleted",
                unmanagedUrls=plan.reported_urls,
                why="outside the recordings storage",
            )
            for plan in outcome.unmanaged
        ],
    )
    for plan in outcome.unmanaged:
        log_event(
            "retention.unmanaged_recording_url",
            level=logging.WARNING,
            interviewId=plan.interview["id"],
            urls=plan.reported_urls,
        )
    for plan in outcome.failed:
        log_event(
            "retention.recording_delete_failed",
            level=logging.WARNING,
            interviewId=plan.interview["id"],
            blobs=[name for name in plan.blobs if name in failed_names],
        )
    return outcome


def _retention_days(interview: dict[str, Any]) -> dict[str, Any]:
    return {"retentionDays": interview["retention_days"]} if "retention_days" in interview else {}


# --- cleanup_recordings ----------------------------------------------------------------


@dataclass
class _Tally:
    name: str
    retention_days: int
    processed: int = 0
    failed: int = 0
    unmanaged: int = 0


async def cleanup_recordings(
    db: Database,
    store: RecordingBlobs | None,
    *,
    caller: Caller,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
) -> CleanupRecordingsResponse:
    """Delete the recordings of interviews that ended (without an end: started, or
    failing that were created) before their organisation's retention cut-off. With
    dry_run, report what would be processed and change nothing."""
    if store is None:
        raise NotConfigured(RECORDINGS_NOT_CONFIGURED)
    run_at = datetime.now(UTC)
    tallies: dict[Any, _Tally] = {}
    if organisation_id is not None:
        organisation = await organisation_or_404(db, organisation_id)
        tallies[organisation["id"]] = _Tally(organisation["name"], organisation["retention_days"])
    blobs = 0
    after: UUID | None = queries.FIRST_ID
    async with AsyncExitStack() as stack:
        session = None if dry_run else await stack.enter_async_context(store.open())
        while after is not None:
            async with db.transaction() as conn:
                page = await queries.due_interviews(
                    conn, now=run_at, after=after, limit=PAGE_SIZE, organisation_id=organisation_id, lock=not dry_run
                )
                after = page.next_after
                plans = [plan_recordings(row, store) for row in page.rows]
                if dry_run:
                    outcome = sort_plans(plans)
                elif plans and session is not None:
                    outcome = await delete_recordings(
                        conn, session, plans, user_id=caller.user_id, reason={"reason": "retention"}
                    )
                else:
                    continue
            for kind, done in (
                ("processed", outcome.deleted),
                ("unmanaged", outcome.unmanaged),
                ("failed", outcome.failed),
            ):
                for plan in done:
                    row = plan.interview
                    tally = tallies.setdefault(
                        row["organisation_id"], _Tally(row["organisation_name"], row["retention_days"])
                    )
                    setattr(tally, kind, getattr(tally, kind) + 1)
            blobs += sum(len(plan.blobs) for plan in outcome.deleted + outcome.unmanaged)
    total = sum(t.processed for t in tallies.values())
    log_event(
        "retention.cleanup_recordings",
        dryRun=dry_run,
        interviews=total,
        blobs=blobs,
        unmanagedRecordings=sum(t.unmanaged for t in tallies.values()),
        failed=sum(t.failed for t in tallies.values()),
        organisationId=organisation_id,
    )
    return CleanupRecordingsResponse(
        totalDeleted=total,
        processedAt=run_at,
        organisationResults=[
            OrganisationResult(
                organisation=t.name,
                retentionDays=t.retention_days,
                interviewsProcessed=t.processed,
                unmanagedRecordings=t.unmanaged,
            )
            for t in tallies.values()
        ],
    )


async def organisation_or_404(db: Database, organisation_id: UUID) -> dict[str, Any]:
    async with db.connection() as conn:
        organisation = await queries.organisation_retention(conn, organisation_id)
    if organisation is None:
        raise NotFound("Organisation not found")
    return organisation
