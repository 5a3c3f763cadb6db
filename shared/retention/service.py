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
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from shared.adapters.cv_storage import NOT_CONFIGURED as CV_STORAGE_NOT_CONFIGURED
from shared.adapters.ports import CvStore, Database
from shared.adapters.recordings import NOT_CONFIGURED as RECORDINGS_NOT_CONFIGURED
from shared.adapters.recordings import RecordingSession, RecordingStore
from shared.adapters.supabase_admin import AuthAdminError, SupabaseAdmin
from shared.calls import recording_metadata
from shared.organisations import queries as orgs
from shared.platform import audit
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.errors import BadRequest, NotConfigured, NotFound, UpstreamError
from shared.platform.logs import log_event
from shared.resumes.cv_paths import is_own_cv_path
from shared.retention import queries
from shared.retention.models import (
    CLEANUP_RECORDINGS,
    PROCESS_DELETION_REQUESTS,
    CleanupRecordingsResponse,
    DeletionRequestResult,
    OrganisationResult,
    ProcessDeletionRequestsResponse,
)

if TYPE_CHECKING:
    from shared.platform.db import Conn
    from shared.platform.rate_limit import RateLimiter

PAGE_SIZE = 100  # interviews per transaction: up to about 400 blobs, two batches side by side


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
        role = await orgs.member_role(conn, organisation_id, caller.user_id) if caller.user_id else None
    require_role(role, ORG_ADMIN_ROLES, "this organisation")


@dataclass(frozen=True)
class Storage:
    """Where retention deletes; each is None when its settings are missing (a step that
    needs it then fails with the reason, or the action answers 503)."""

    recordings: RecordingStore | None
    auth_admin: SupabaseAdmin | None
    cv_storage: CvStore | None


async def run_action(
    db: Database,
    storage: Storage,
    caller: Caller,
    action: str,
    *,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
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
        caller=caller,
        organisation_id=organisation_id,
        dry_run=dry_run,
    )


async def run_scheduled(db: Database, storage: Storage, rate_limiter: RateLimiter, caller: Caller) -> None:
    """The timer: both actions for every organisation, then old rate-limit
    windows and processed event ids. Every step runs even if an earlier one failed; failures are raised
    at the end so the host records the run as failed."""
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
    from shared.calls.event_queries import purge_processed_events

    async def purge_events() -> int:
        async with db.connection() as conn:
            return await purge_processed_events(conn)

    housekeeping: dict[str, Callable[[], Awaitable[int]]] = {
        "purge_rate_limits": rate_limiter.purge_expired,
        "purge_processed_events": purge_events,
    }
    for name, purge in housekeeping.items():
        try:
            log_event(f"retention.{name}", rows=await purge())
        except Exception as exc:
            logging.getLogger("talenti").exception("%s failed", name)
            failures.append(f"{name}: {type(exc).__name__}")
    if failures:
        raise RuntimeError("Scheduled retention run failed: " + "; ".join(failures))


# --- Deleting an interview's recordings -----------------------------------------------


@dataclass
class RecordingPlan:
    interview: dict[str, Any]
    blobs: list[str] = field(default_factory=list)  # names in our container
    unmanaged: list[str] = field(default_factory=list)  # other URLs: never deleted, reported, kept on the row

    @property
    def reported_urls(self) -> list[str]:
        return [redact_url(url) for url in self.unmanaged]


def plan_recordings(interview: dict[str, Any], store: RecordingStore) -> RecordingPlan:
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
    conn: Conn, session: RecordingSession, plans: list[RecordingPlan], *, user_id: UUID | None, reason: dict[str, Any]
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
    store: RecordingStore | None,
    *,
    caller: Caller,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
) -> CleanupRecordingsResponse:
    """Delete the recordings of interviews that ended before their organisation's
    retention cut-off. With dry_run, report what would be processed and change nothing."""
    if store is None:
        raise NotConfigured(RECORDINGS_NOT_CONFIGURED)
    run_at = datetime.now(UTC)
    tallies: dict[Any, _Tally] = {}
    if organisation_id is not None:
        organisation = await _organisation(db, organisation_id)
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


async def _organisation(db: Database, organisation_id: UUID) -> dict[str, Any]:
    async with db.connection() as conn:
        organisation = await queries.organisation_retention(conn, organisation_id)
    if organisation is None:
        raise NotFound("Organisation not found")
    return organisation


# --- process_deletion_requests -----------------------------------------------------------

FULL_DELETION, RECORDING_ONLY, ANONYMIZE = "full_deletion", "recording_only", "anonymize"


class StepFailed(Exception):
    """A step of a deletion request could not be completed (the message goes into its notes)."""


@dataclass
class _Request:
    id: Any
    user_id: Any
    kind: str
    caller: Caller
    processed_by: str
    organisation_id: Any

    @property
    def actor_id(self) -> UUID | None:
        # audit_log.user_id references auth.users, and the subject's user may be
        # gone: the subject is named in the values instead.
        return self.caller.user_id if self.caller.user_id != self.user_id else None

    def audit(self, action: str, **values: Any) -> dict[str, Any]:
        return {
            "action": f"data_deletion_request.{action}",
            "entity_type": "data_deletion_request",
            "entity_id": self.id,
            "user_id": self.actor_id,
            "organisation_id": self.organisation_id,
            "new_values": {"subjectUserId": self.user_id, "requestType": self.kind, **values},
        }


async def process_deletion_requests(
    db: Database,
    store: RecordingStore | None,
    auth_admin: SupabaseAdmin | None,
    *,
    cv_storage: CvStore | None,
    caller: Caller,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
) -> ProcessDeletionRequestsResponse:
    """Claim and fulfil due requests one at a time: pending ones, ones that
    failed in an earlier run, and ones abandoned in 'processing'. `store`,
    `auth_admin` and `cv_storage` may be None (not configured): a request that
    needs one then fails with the reason."""
    processed_by = "service" if caller.is_service else str(caller.user_id)
    started = await db.fetch_one("select clock_timestamp() as at")
    assert started is not None
    run_started = started["at"]
    if organisation_id is not None:
        await _organisation(db, organisation_id)
    if dry_run:
        async with db.connection() as conn:
            due = await queries.due_deletion_requests(conn, run_started=run_started, organisation_id=organisation_id)
        return ProcessDeletionRequestsResponse(
            requestsProcessed=len(due),
            processedAt=run_started,
            results=[DeletionRequestResult(requestId=row["id"], status=row["status"]) for row in due],
        )
    results = []
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(store.open()) if store is not None else None
        while True:
            async with db.transaction() as conn:
                claimed = await queries.claim_deletion_request(
                    conn, run_started=run_started, processed_by=processed_by, organisation_id=organisation_id
                )
                if claimed is None:
                    break
                request = _Request(
                    claimed["id"], claimed["user_id"], claimed["request_type"], caller, processed_by, organisation_id
                )
                await audit.record(conn, **request.audit("claimed"))
            status = await _fulfil(db, store, session, cv_storage, auth_admin, request)
            results.append(DeletionRequestResult(requestId=request.id, status=status))
    log_event(
        "retention.deletion_requests",
        processed=len(results),
        failed=sum(r.status == "failed" for r in results),
        organisationId=organisation_id,
    )
    return ProcessDeletionRequestsResponse(requestsProcessed=len(results), results=results, processedAt=run_started)


# What full deletion and anonymisation do to the candidate's rows: (query, audit action, note).
_CANDIDATE_STEPS = {
    FULL_DELETION: (queries.delete_candidate_data, "candidate_data_deleted", "candidate data deleted"),
    ANONYMIZE: (queries.anonymise_candidate, "anonymised", "candidate data anonymised"),
}


async def _fulfil(
    db: Database,
    store: RecordingStore | None,
    session: RecordingSession | None,
    cv_storage: CvStore | None,
    auth_admin: SupabaseAdmin | None,
    request: _Request,
) -> str:
    notes: list[str] = []
    try:
        notes.append(await _delete_candidate_recordings(db, store, session, request))
        if request.kind in _CANDIDATE_STEPS:
            change_rows, action, done = _CANDIDATE_STEPS[request.kind]
            async with db.transaction() as conn:  # the CV file goes before the rows that name it
                notes.append(await _delete_cv_file(conn, cv_storage, request))
                counts = await change_rows(conn, request.user_id)
                await audit.record(conn, **request.audit(action, rows=counts))
            notes.append(f"{done} ({_counts(counts)})")
            if request.kind == FULL_DELETION:
                notes.append(await _delete_auth_user(db, auth_admin, request))
        status = "completed"
    except (StepFailed, UpstreamError) as exc:  # UpstreamError: the recordings storage is unavailable
        status = "failed"
        notes.append(f"FAILED: {exc}")
    except Exception:
        logging.getLogger("talenti").exception("deletion request %s failed", request.id)
        status = "failed"
        notes.append("FAILED: internal error (see the logs); it is retried on the next run")
    text = "; ".join(note for note in notes if note)
    async with db.transaction() as conn:
        await queries.finish_deletion_request(
            conn, request.id, status=status, notes=text, processed_by=request.processed_by
        )
        await audit.record(conn, **request.audit(status, notes=text))
    return status


async def _delete_candidate_recordings(
    db: Database, store: RecordingStore | None, session: RecordingSession | None, request: _Request
) -> str:
    async with db.transaction() as conn:
        rows = await queries.candidate_interviews_with_recordings(conn, request.user_id)
        if not rows:
            return ""
        if store is None or session is None:
            raise StepFailed(f"{len(rows)} interviews have recordings: {RECORDINGS_NOT_CONFIGURED}")
        plans = [plan_recordings(row, store) for row in rows]
        outcome = await delete_recordings(
            conn,
            session,
            plans,
            user_id=request.actor_id,
            reason={"reason": "deletion_request", "deletionRequestId": request.id},
        )
        await audit.record(
            conn,
            **request.audit(
                "recordings_deleted",
                interviews=len(outcome.deleted),
                failed=len(outcome.failed),
                blobs=sum(len(plan.blobs) for plan in outcome.deleted + outcome.unmanaged),
                unmanagedInterviews=len(outcome.unmanaged),
                unmanagedUrls=sum(len(plan.unmanaged) for plan in outcome.unmanaged),
            ),
        )
    if outcome.failed:
        raise StepFailed(
            f"the recordings of {len(outcome.failed)} interviews could not be deleted; retried on the next run"
        )
    note = f"recordings of {len(outcome.deleted)} interviews deleted"
    if outcome.unmanaged:
        note += (
            f"; {len(outcome.unmanaged)} interviews have recordings outside our recordings storage, "
            "reported, not deleted"
        )
    return note


async def _delete_cv_file(conn: Conn, cv_storage: CvStore | None, request: _Request) -> str:
    """Delete the candidate's CV file, in `conn`'s transaction (which then changes
    the profile row, locked here) so the row keeps pointing at the file until it is gone."""
    path = await queries.candidate_cv_path(conn, request.user_id)
    if not path:
        return ""
    if not is_own_cv_path(path, request.user_id):
        reported = path[:300]
        log_event("retention.unmanaged_cv_path", level=logging.WARNING, deletionRequestId=request.id, path=reported)
        await audit.record(
            conn, **request.audit("cv_not_deleted", unmanagedCvPath=reported, reason="outside the candidate's folder")
        )
        return "CV path outside the candidate's folder was reported, not deleted"
    if cv_storage is None:
        raise StepFailed(f"the CV file could not be deleted: {CV_STORAGE_NOT_CONFIGURED}")
    try:
        existed = await cv_storage.delete(path)
    except UpstreamError as exc:
        raise StepFailed(f"the CV file could not be deleted ({exc.message}); retried on the next run") from None
    await audit.record(conn, **request.audit("cv_deleted", existed=existed))
    return "CV file deleted" if existed else "CV file already deleted"


async def _delete_auth_user(db: Database, auth_admin: SupabaseAdmin | None, request: _Request) -> str:
    if auth_admin is None:
        raise StepFailed("auth user not deleted: Supabase Auth admin is not configured (SUPABASE_SERVICE_ROLE_KEY)")
    try:
        existed = await auth_admin.delete_user(request.user_id)
    except AuthAdminError as exc:
        raise StepFailed(f"auth user not deleted: {exc}") from None
    async with db.connection() as conn:
        await audit.record(conn, **request.audit("auth_user_deleted", existed=existed))
    return "auth user deleted" if existed else "auth user already deleted"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {n}" for table, n in counts.items() if n) or "nothing to change"
