"""Candidates' data deletion requests: each request's recordings, scoring history
(the Durable task hub), ACS identity, CV folder, rows and (for full deletion) Supabase Auth user,
in steps that each either finish or leave the request for the next run (see the
package's rules in service.py). Where candidate data lives, and what each request
type does there, is the registry in rules.py."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from shared.adapters.cv_storage import NOT_CONFIGURED as CV_STORAGE_NOT_CONFIGURED
from shared.adapters.ports import (
    AcsIdentities,
    AuthAdmin,
    BlobDeleter,
    CvStore,
    Database,
    DurableClient,
    RecordingBlobs,
)
from shared.adapters.recordings import NOT_CONFIGURED as RECORDINGS_NOT_CONFIGURED
from shared.adapters.supabase_admin import AuthAdminError
from shared.platform import audit
from shared.platform.auth import Caller
from shared.platform.errors import UpstreamError
from shared.platform.logs import log_event
from shared.resumes.cv_paths import is_own_cv_path
from shared.retention import queries, rules
from shared.retention.models import (
    DeletionRequestResult,
    ProcessDeletionRequestsResponse,
)
from shared.retention.recordings import delete_recordings, organisation_or_404, plan_recordings
from shared.scoring.service import erase_scoring_history

if TYPE_CHECKING:
    from shared.platform.db import Conn


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
    store: RecordingBlobs | None,
    auth_admin: AuthAdmin | None,
    *,
    cv_storage: CvStore | None,
    caller: Caller,
    organisation_id: UUID | None = None,
    dry_run: bool = False,
    task_hub: DurableClient | None = None,
    acs_identity: AcsIdentities | None = None,
) -> ProcessDeletionRequestsResponse:
    """Claim and fulfil due requests one at a time: pending ones, ones that
    failed in an earlier run, and ones abandoned in 'processing'. `store`,
    `auth_admin` and `cv_storage` may be None (not configured): a request that
    needs one then fails with the reason. `task_hub` is the Durable client (the
    functions always bind one; None only where no Durable runtime exists).
    `acs_identity` may be None too: a candidate with an ACS identity then fails."""
    processed_by = "service" if caller.is_service else str(caller.user_id)
    started = await db.fetch_one("select clock_timestamp() as at")
    assert started is not None
    run_started = started["at"]
    if organisation_id is not None:
        await organisation_or_404(db, organisation_id)
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
            status = await _fulfil(db, Places(store, session, cv_storage, auth_admin, task_hub, acs_identity), request)
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


@dataclass(frozen=True)
class Places:
    """Where a request deletes outside the database (None: not configured)."""

    store: RecordingBlobs | None
    session: BlobDeleter | None
    cv_storage: CvStore | None
    auth_admin: AuthAdmin | None
    task_hub: DurableClient | None
    acs_identity: AcsIdentities | None


async def _fulfil(db: Database, places: Places, request: _Request) -> str:
    notes: list[str] = []
    try:
        notes.append(await _delete_candidate_recordings(db, places.store, places.session, request))
        if request.kind in _CANDIDATE_STEPS:
            change_rows, action, done = _CANDIDATE_STEPS[request.kind]
            # Stores before the rows that name them: a failure leaves the rows to find them by.
            notes.append(await _purge_scoring_history(db, places.task_hub, request))
            notes.append(await _delete_acs_identity(db, places.acs_identity, request))
            async with db.transaction() as conn:  # the CV files go before the rows that name them
                notes.append(await _delete_cv_file(conn, places.cv_storage, request))
                notes.append(await _delete_cv_folder(conn, places.cv_storage, request))
                counts = await change_rows(conn, request.user_id)
                await audit.record(conn, **request.audit(action, rows=counts))
            notes.append(f"{done} ({_counts(counts)})")
            if request.kind == FULL_DELETION:
                notes.append(await _delete_auth_user(db, places.auth_admin, request))
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
    db: Database, store: RecordingBlobs | None, session: BlobDeleter | None, request: _Request
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
        # The path is the candidate's free text (it may hold their name) and the audit log
        # outlives the erasure: only its SHA-256, which an operator can match against the
        # store's object names to find the file.
        digest = hashlib.sha256(path.encode()).hexdigest()
        log_event("retention.unmanaged_cv_path", level=logging.WARNING, deletionRequestId=request.id, pathSha256=digest)
        await audit.record(
            conn,
            **request.audit("cv_not_deleted", unmanagedCvPathSha256=digest, reason="outside the candidate's folder"),
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


async def _purge_scoring_history(db: Database, task_hub: DurableClient | None, request: _Request) -> str:
    """Stop and purge the Durable scoring runs of the candidate's interviews (their
    inputs, statuses and outputs are kept in the task hub until purged)."""
    async with db.connection() as conn:
        interview_ids = await queries.candidate_interview_ids(conn, request.user_id)
    if not interview_ids:
        return ""
    if task_hub is None:
        log_event("retention.task_hub_unavailable", level=logging.WARNING, deletionRequestId=request.id)
        return "scoring history not checked: no Durable client here"
    try:
        purged = await erase_scoring_history(task_hub, interview_ids)
    except Exception as exc:
        logging.getLogger("talenti").warning("purging scoring history failed", exc_info=True)
        raise StepFailed(
            f"the scoring history could not be purged ({type(exc).__name__}); retried on the next run"
        ) from None
    async with db.connection() as conn:
        await audit.record(conn, **request.audit("scoring_history_purged", instances=purged))
    return f"scoring history purged ({purged} runs)" if purged else ""


async def _delete_acs_identity(db: Database, acs: AcsIdentities | None, request: _Request) -> str:
    """Delete the candidate's identity in ACS (its tokens and the data ACS keeps for it,
    chat included); the mapping row goes with the candidate's rows afterwards, so a
    failure leaves it to be found on the next run (an identity already gone counts)."""
    async with db.connection() as conn:
        identities = await queries.candidate_acs_identities(conn, request.user_id)
    if not identities:
        return ""
    if acs is None:
        raise StepFailed("the ACS identity could not be deleted: ACS is not configured; retried on the next run")
    existed = 0
    for identity in identities:
        try:
            existed += await acs.delete_user(identity)
        except UpstreamError as exc:
            raise StepFailed(
                f"the ACS identity could not be deleted ({exc.message}); retried on the next run"
            ) from None
    async with db.connection() as conn:
        await audit.record(conn, **request.audit("acs_identity_deleted", identities=len(identities), existed=existed))
    return "ACS identity deleted" if existed else "ACS identity already deleted"


async def _delete_cv_folder(conn: Conn, cv_storage: CvStore | None, request: _Request) -> str:
    """Every object under the candidate's own folder (older CVs too), after the current one."""
    if cv_storage is None:  # older CVs may be there: the request cannot be called done
        raise StepFailed(f"the CV folder could not be checked: {CV_STORAGE_NOT_CONFIGURED}")
    try:
        names = await cv_storage.delete_folder(f"{request.user_id}/")
    except UpstreamError as exc:
        raise StepFailed(f"the CV folder could not be emptied ({exc.message}); retried on the next run") from None
    if not names:
        return ""
    await audit.record(conn, **request.audit("cv_folder_deleted", objects=len(names)))
    return f"{len(names)} more files in the CV folder deleted"


# One step per store in the registry (rules.STORE_RULES), which _fulfil runs. A store added
# to the registry without its step stops the app at start-up (and fails
# tests/retention/test_erase_rules.py), rather than leaving data behind unnoticed.
STORE_STEPS: dict[str, Callable[..., Awaitable[str]]] = {
    "recordings": _delete_candidate_recordings,
    "task_hub": _purge_scoring_history,
    "acs_identity": _delete_acs_identity,
    "cv_folder": _delete_cv_folder,
}
if set(STORE_STEPS) != {rule.store for rule in rules.STORE_RULES}:
    raise RuntimeError("shared/retention/rules.py's STORE_RULES and deletion_requests.STORE_STEPS disagree")


async def _delete_auth_user(db: Database, auth_admin: AuthAdmin | None, request: _Request) -> str:
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
