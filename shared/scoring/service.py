"""Asking for a score: POST /api/ai/score, its status route, and the call-ended
event all start (or join) the interview's one orchestration here, wait a
little, and report either the finished result or how far it got.

Returns domain results (`ScoringOutcome`); the blueprint turns them into 200
or 202. A finished run that failed raises the contract's error.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.ports import Database, DurableClient
from shared.organisations import queries as orgs
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.errors import (
    ApiError,
    BadRequest,
    NotConfigured,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unprocessable,
    UpstreamError,
)
from shared.platform.logs import log_event
from shared.scoring import queries as score_rows
from shared.scoring import rules
from shared.scoring.models import ScoreRequest
from shared.scoring.orchestration import ORCHESTRATOR, ScoringJob

if TYPE_CHECKING:
    from shared.platform.config import Settings

SCORING_ROLES = ORG_ADMIN_ROLES | {"recruiter"}
OVERRIDE_FIELDS = ("jobTitle", "jobDescription", "requirements", "orgValues", "scoringRubric", "transcripts")
ACTIVE_STATES = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})
_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    402: PaymentRequired,
    404: NotFound,
    422: Unprocessable,
    502: UpstreamError,
    503: NotConfigured,
}


@dataclass(frozen=True)
class ScoringSettings:
    wait_seconds: float
    retry_attempts: int
    retry_interval_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> ScoringSettings:
        return cls(settings.SCORE_WAIT_SECONDS, settings.SCORE_RETRY_ATTEMPTS, settings.SCORE_RETRY_INTERVAL_SECONDS)


@dataclass(frozen=True)
class ScoringOutcome:
    """Either the finished result, or the running instance and its progress."""

    instance_id: str
    result: dict[str, Any] | None = None
    runtime_status: str = "Pending"
    custom_status: dict[str, Any] | None = None


@dataclass
class ScoringRun:
    instance_id: str
    started: bool  # False: an earlier or running instance is reported
    status: Any = None  # its DurableOrchestrationStatus when reported


def instance_id_for(interview_id: uuid.UUID | str) -> str:
    """One orchestration instance per interview: concurrent starts share it."""
    return f"score-{uuid.UUID(str(interview_id))}"


def runtime_state(status: Any) -> str | None:
    state = getattr(status, "runtime_status", None) if status else None
    return state.value if state is not None else None


def _succeeded(status: Any) -> bool:
    output = getattr(status, "output", None)
    return runtime_state(status) == "Completed" and isinstance(output, dict) and output.get("success") is True


async def start_scoring(
    client: DurableClient,
    interview_id: uuid.UUID | str,
    settings: ScoringSettings,
    *,
    rescore: bool = False,
    overrides: dict[str, Any] | None = None,
) -> ScoringRun:
    """Start scoring the interview, or report the run already there: a running one
    always; a successful finished one unless `rescore`."""
    instance_id = instance_id_for(interview_id)
    status = await client.get_status(instance_id)
    if runtime_state(status) in ACTIVE_STATES or (_succeeded(status) and not rescore):
        return ScoringRun(instance_id, started=False, status=status)
    job: ScoringJob = {
        "interviewId": str(uuid.UUID(str(interview_id))),
        "overrides": {
            key: value for key, value in (overrides or {}).items() if key in OVERRIDE_FIELDS and value is not None
        },
        # Settings are read here, never in the orchestrator: replays must see the same values.
        "retry": {
            "firstRetryIntervalMs": max(1, round(settings.retry_interval_seconds * 1000)),
            "maxAttempts": settings.retry_attempts,
        },
    }
    try:
        await client.start_new(ORCHESTRATOR, instance_id, job)
    except Exception:
        # Another caller started it between our look and our start.
        status = await client.get_status(instance_id)
        if runtime_state(status) in ACTIVE_STATES:
            return ScoringRun(instance_id, started=False, status=status)
        raise
    log_event("scoring.started", interviewId=job["interviewId"], instanceId=instance_id, rescore=rescore)
    return ScoringRun(instance_id, started=True)


async def wait_for_scoring(client: DurableClient, instance_id: str, seconds: float) -> Any:
    """Poll the instance until it is no longer active or `seconds` have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = 0.01
    while True:
        status = await client.get_status(instance_id)
        remaining = deadline - loop.time()
        if (status and runtime_state(status) not in ACTIVE_STATES) or remaining <= 0:
            return status
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 1.5, 0.5)


def finished_result(status: Any) -> dict[str, Any] | None:
    """The 200 body of a finished run, None while it runs; a failed run raises
    the contract's error."""
    state = runtime_state(status)
    if state is None or state in ACTIVE_STATES:
        return None
    output = status.output
    if state == "Completed" and isinstance(output, dict):
        if output.get("success"):
            return output
        code, message = output.get("status", 500), output.get("error") or "Scoring failed"
        if code == 429:
            raise RateLimited(30, message)
        raise _ERRORS_BY_STATUS.get(code, ApiError)(message)
    raise ApiError("Scoring was stopped" if state in ("Terminated", "Canceled") else "Scoring failed")


def _outcome(instance_id: str, status: Any) -> ScoringOutcome:
    result = finished_result(status)
    return ScoringOutcome(
        instance_id,
        result=result,
        runtime_status=runtime_state(status) or "Pending",
        custom_status=getattr(status, "custom_status", None) or None,
    )


async def authorize_scoring(db: Database, caller: Caller, interview_id: uuid.UUID) -> None:
    """404 for an unknown interview; a user must be an admin or recruiter of its organisation."""
    async with db.connection() as conn:
        row = await score_rows.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        if caller.is_service:
            return
        role = await orgs.member_role(conn, row["organisation_id"], caller.user_id) if caller.user_id else None
    require_role(role, SCORING_ROLES, "this interview's organisation")


async def request_scoring(
    db: Database, client: DurableClient, settings: ScoringSettings, caller: Caller, request: ScoreRequest
) -> ScoringOutcome:
    """POST /api/ai/score: check, start (or find) the run, wait up to the configured time."""
    await authorize_scoring(db, caller, request.interviewId)
    overrides = request.model_dump(mode="json", include=set(OVERRIDE_FIELDS), exclude_none=True)
    if request.scoringRubric:
        rules.resolve_rubric(overrides["scoringRubric"], None)  # an invalid rubric is a 400 now
    run = await start_scoring(client, request.interviewId, settings, rescore=request.rescore, overrides=overrides)
    finished = run.status is not None and runtime_state(run.status) not in ACTIVE_STATES
    status = run.status if finished else await wait_for_scoring(client, run.instance_id, settings.wait_seconds)
    return _outcome(run.instance_id, status)


async def scoring_status(
    db: Database, client: DurableClient, caller: Caller, interview_id: uuid.UUID
) -> ScoringOutcome:
    """GET /api/ai/score/{interviewId}: the run's result or progress, or the stored
    score when no run is known (e.g. scored before a deployment)."""
    await authorize_scoring(db, caller, interview_id)
    instance_id = instance_id_for(interview_id)
    status = await client.get_status(instance_id)
    if runtime_state(status) is not None:
        return _outcome(instance_id, status)
    async with db.connection() as conn:
        score = await score_rows.score_of(conn, interview_id)
        if score is None:
            raise NotFound("This interview has not been scored")
        dimensions = await score_rows.dimensions_of(conn, interview_id)
    return ScoringOutcome(
        instance_id, result=rules.stored_result(interview_id, score, dimensions), runtime_status="Completed"
    )
