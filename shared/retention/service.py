"""Data retention (was the `data-retention-cleanup` edge function): recordings
past their organisation's retention period, and candidates' data deletion
requests. Run by `POST /api/admin/data-cleanup` and by the retention timer.

Rules that keep it safe:
- Blobs are deleted before the rows that point at them; a row is only
  changed once every blob it points at in our container is gone (a blob
  already gone counts as deleted). A failed delete leaves the row for the
  next run.
- Only URLs inside the configured recordings account and container are ever
  deleted; any other URL is never fetched or deleted, and its interview is not
  marked deleted: it is reported (response, audit entry, warning, request
  notes) on every run until someone resolves it. Likewise a candidate's CV file is deleted only
  when its path is inside that candidate's own folder (shared/resumes/cv_paths.py).
- Work is paged and row-locked with SKIP LOCKED in short transactions, so two
  runs never process the same interview or request and memory stays flat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from shared.adapters.ports import AcsIdentities, AuthAdmin, CvStore, Database, DurableClient, RecordingBlobs
from shared.platform import telemetry
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.errors import BadRequest, NotConfigured
from shared.platform.logs import log_event
from shared.platform.membership import member_role
from shared.retention.deletion_requests import process_deletion_requests
from shared.retention.models import (
    CLEANUP_RECORDINGS,
    PROCESS_DELETION_REQUESTS,
    CleanupRecordingsResponse,
    ProcessDeletionRequestsResponse,
)
from shared.retention.recordings import cleanup_recordings

if TYPE_CHECKING:
    pass


# --- Entry points -------------------------------------------------------------------


async def authorise(db: Database, caller: Caller, organisation_id: UUID | None) -> None:
    """The service key may act on every organisation; a user only as an admin of
    the one organisation they name."""
    if caller.is_service:
        return
    if organisation_id is None:
        raise BadRequest(
            "organisationId is required unless the service key is used",
            details=[{"field": "organisationId", "message": "Field required"}],
        )
    async with db.connection() as conn:
        role = await member_role(conn, organisation_id, caller.user_id) if caller.user_id else None
    require_role(role, ORG_ADMIN_ROLES, "this organisation")


@dataclass(frozen=True)
class Storage:
    """Where retention deletes; each is None when its settings are missing (a step that
    needs it then fails with the reason, or the action answers 503)."""

    recordings: RecordingBlobs | None
    auth_admin: AuthAdmin | None
    cv_storage: CvStore | None
    task_hub: DurableClient | None = None  # the function's Durable client: scoring history
    acs_identity: AcsIdentities | None = None  # candidates' ACS identities (and their chat data)


async def run_action(
    db: Database,
    storage: Storage,
    caller: Caller,
    action: str,
    *,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
) -> CleanupRecordingsResponse | ProcessDeletionRequestsResponse:
    result = await _run_action(db, storage, caller, action, organisation_id=organisation_id, dry_run=dry_run)
    if not dry_run:
        count_items(result)
    return result


def count_items(result: CleanupRecordingsResponse | ProcessDeletionRequestsResponse) -> None:
    """`talenti.retention.items`: recordings deleted, and deletion requests completed or failed."""
    if isinstance(result, CleanupRecordingsResponse):
        if result.totalDeleted:
            telemetry.retention_items.add(result.totalDeleted, {"kind": "recording", "outcome": "deleted"})
        return
    for item in result.results:
        outcome = {"completed": "deleted", "failed": "failed"}.get(item.status)
        if outcome is not None:
            telemetry.retention_items.add(1, {"kind": "deletion_request", "outcome": outcome})


async def _run_action(
    db: Database,
    storage: Storage,
    caller: Caller,
    action: str,
    *,
    organisation_id: UUID | None,
    dry_run: bool,
) -> CleanupRecordingsResponse | ProcessDeletionRequestsResponse:
    if action == CLEANUP_RECORDINGS:
        return await cleanup_recordings(
            db, storage.recordings, caller=caller, organisation_id=organisation_id, dry_run=dry_run
        )
    return await process_deletion_requests(
        db,
        storage.recordings,
        storage.auth_admin,
        cv_storage=storage.cv_storage,
        task_hub=storage.task_hub,
        acs_identity=storage.acs_identity,
        caller=caller,
        organisation_id=organisation_id,
        dry_run=dry_run,
    )


Housekeeping = Mapping[str, Callable[[], Awaitable[int]]]


async def run_scheduled(db: Database, storage: Storage, caller: Caller, housekeeping: Housekeeping) -> None:
    """The timer: both actions for every organisation, then the other features'
    housekeeping (named purges the blueprint hands over: old rate-limit windows,
    processed event ids). Every step runs even if an earlier one failed; failures
    are raised at the end so the host records the run as failed."""
    failures = []
    for action in (CLEANUP_RECORDINGS, PROCESS_DELETION_REQUESTS):
        try:
            result = await run_action(db, storage, caller, action)
            log_event("retention.scheduled", action=action, result=result.model_dump(mode="json"))
        except NotConfigured as exc:
            log_event("retention.skipped", level=logging.WARNING, action=action, reason=exc.message)
        except Exception as exc:
            logging.getLogger("talenti").exception("scheduled retention action %s failed", action)
            failures.append(f"{action}: {type(exc).__name__}")
    for name, purge in housekeeping.items():
        try:
            log_event(f"retention.{name}", rows=await purge())
        except Exception as exc:
            logging.getLogger("talenti").exception("%s failed", name)
            failures.append(f"{name}: {type(exc).__name__}")
    if failures:
        raise RuntimeError("Scheduled retention run failed: " + "; ".join(failures))
