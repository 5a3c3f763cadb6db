"""Scoring's use cases.

Asking for a score: POST /api/ai/score, its status route, and the call-ended
event all start (or join) the interview's one orchestration here, wait a
little, and report either the finished result or how far it got. Returns
domain results (`ScoringOutcome`); the blueprint turns them into 200 or 202.
A finished run that failed raises the contract's error.

The orchestration's two steps (blueprints/scoring.py runs each as an
activity and chains them in the orchestrator):

    load_context      interview, role, rubric, organisation values; checks the transcript
    score_and_save    reads the transcript, the model scores every rubric dimension
                      (structured output), then one transaction: score row, its
                      dimensions, application status

Only ids, the role's wording, the rubric and statuses cross the Durable
boundary: the transcript is read inside the step that needs it and the
result goes straight to the database, so the task hub (orchestration inputs,
activity inputs and outputs, the run's output) never holds the candidate's
words. A finished run is answered from the database and its history purged;
erasing a candidate purges their runs (`erase_scoring_history`).

Every step runs through `run_step`, which returns a `StepResult`: success
with a value, or a failure with the contract's status and whether another
attempt may help; nothing crosses the Durable boundary as text to be parsed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.ports import AIModel, Database, DurableClient
from shared.organisations.rules import org_values_of
from shared.platform import audit, telemetry
from shared.platform.ai_usage import Payer, billed
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.decision_log import Concerning, DecisionRecorder, OnCall
from shared.platform.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotConfigured,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unprocessable,
    UpstreamError,
)
from shared.platform.logs import log_event, request_id
from shared.platform.membership import member_role
from shared.scoring import queries as score_rows
from shared.scoring import rules
from shared.scoring.models import (
    ORCHESTRATOR,
    ModelScoring,
    ReviewRequest,
    RunTrace,
    ScoredInterview,
    ScoreRequest,
    ScoringContext,
    ScoringJob,
    ScoringSummary,
    StepResult,
    Turn,
)
from shared.scoring.prompts import PROMPT_VERSION, TOOL_DESCRIPTION, TOOL_NAME, rubric_vocabulary, scoring_messages

if TYPE_CHECKING:
    from shared.platform.config import Settings

# A Durable name is a contract once deployed: in-flight runs replay against the next deploy.
SCORING_TIMEOUT_SECONDS = 120.0  # one model call reads a whole interview
# Statuses worth another attempt: the model, the provider or the database may answer next time.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503})
SCORING_ROLES = ORG_ADMIN_ROLES | {"recruiter"}
# What a request may supply for the role; the stored role wins wherever it has a value.
# (Supplied transcripts never travel in the job: see `keep_supplied_transcript`.)
OVERRIDE_FIELDS = ("jobTitle", "jobDescription", "requirements", "orgValues", "scoringRubric")
ERASED_REASON = "The candidate's data was erased"
ERASED_MESSAGE = "This interview's candidate asked for their data to be erased: it is not scored again"
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
    with telemetry.tracer.start_as_current_span(
        "scoring.start", attributes={"talenti.interview_id": job["interviewId"], "talenti.instance_id": instance_id}
    ):
        # The run's activities continue this trace (the orchestrator replays: it makes no spans).
        run_trace: RunTrace = {"startedAt": time.time()}
        traceparent = telemetry.carrier().get("traceparent")
        if traceparent:
            run_trace["traceparent"] = traceparent
        started_by = request_id.get()
        if started_by:
            run_trace["requestId"] = started_by
        job["trace"] = run_trace
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


def raise_if_failed(status: Any) -> None:
    """A finished run that failed raises the contract's error; anything else passes."""
    state = runtime_state(status)
    if state is None or state in ACTIVE_STATES or _succeeded(status):
        return
    output = status.output
    if state == "Completed" and isinstance(output, dict):
        code, message = output.get("status", 500), output.get("error") or "Scoring failed"
        if code == 429:
            raise RateLimited(30, message)
        raise _ERRORS_BY_STATUS.get(code, ApiError)(message)
    raise ApiError("Scoring was stopped" if state in ("Terminated", "Canceled") else "Scoring failed")


async def stored_score(db: Database, interview_id: uuid.UUID | str) -> dict[str, Any] | None:
    """The interview's score as the database holds it (the contract's 200 body), or None."""
    async with db.connection() as conn:
        score = await score_rows.score_of(conn, interview_id)
        if score is None:
            return None
        dimensions = await score_rows.dimensions_of(conn, interview_id)
    return rules.stored_result(interview_id, score, dimensions)


async def purge_finished(client: DurableClient, instance_id: str) -> None:
    """Forget a finished run's Durable history: its result is in the database. A failure
    only leaves ids in the task hub (erasure purges them too), so it is logged, not raised."""
    try:
        await client.purge_instance_history(instance_id)
    except Exception:
        logging.getLogger("talenti").warning("could not purge scoring history %s", instance_id, exc_info=True)


async def _outcome(db: Database, client: DurableClient, interview_id: uuid.UUID | str, status: Any) -> ScoringOutcome:
    """Progress while the run is active; once it has finished, the database's score
    (never the run's output), and the run's history is purged."""
    instance_id = instance_id_for(interview_id)
    state = runtime_state(status)
    if state in ACTIVE_STATES:
        return ScoringOutcome(
            instance_id,
            runtime_status=state or "Pending",
            custom_status=getattr(status, "custom_status", None) or None,
        )
    raise_if_failed(status)
    result = await stored_score(db, interview_id)
    if state is not None:
        await purge_finished(client, instance_id)
    if result is None:
        raise NotFound("This interview has not been scored")
    return ScoringOutcome(instance_id, result=result, runtime_status="Completed")


async def authorize_scoring(db: Database, caller: Caller, interview_id: uuid.UUID) -> dict[str, Any]:
    """404 for an unknown interview; a user must be an admin or recruiter of its organisation.
    Returns the interview with its role."""
    async with db.connection() as conn:
        row = await score_rows.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        if caller.is_service:
            return row
        role = await member_role(conn, row["organisation_id"], caller.user_id) if caller.user_id else None
    require_role(role, SCORING_ROLES, "this interview's organisation")
    return row


def refuse_if_erased(row: dict[str, Any]) -> None:
    """An erased candidate's interview is never scored again (nor given a transcript to score)."""
    if row["candidate_erased"]:
        raise Unprocessable(ERASED_MESSAGE)


async def request_scoring(
    db: Database, client: DurableClient, settings: ScoringSettings, caller: Caller, request: ScoreRequest
) -> ScoringOutcome:
    """POST /api/ai/score: check, start (or find) the run, wait up to the configured time."""
    interview = await authorize_scoring(db, caller, request.interviewId)
    if request.rescore or request.transcripts:
        refuse_if_erased(interview)
    overrides = request.model_dump(mode="json", include=set(OVERRIDE_FIELDS), exclude_none=True)
    if request.scoringRubric:
        rules.resolve_rubric(overrides["scoringRubric"], None)  # an invalid rubric is a 400 now
    if request.transcripts:
        await keep_supplied_transcript(db, request.interviewId, request.model_dump(mode="json")["transcripts"])
    instance_id = instance_id_for(request.interviewId)
    if not request.rescore:
        # A stored score is the answer unless a run is under way (finished runs are purged).
        current = await client.get_status(instance_id)
        if runtime_state(current) not in ACTIVE_STATES and (stored := await stored_score(db, request.interviewId)):
            if runtime_state(current) is not None:
                await purge_finished(client, instance_id)
            return ScoringOutcome(instance_id, result=stored, runtime_status="Completed")
    run = await start_scoring(client, request.interviewId, settings, rescore=request.rescore, overrides=overrides)
    finished = run.status is not None and runtime_state(run.status) not in ACTIVE_STATES
    status = run.status if finished else await wait_for_scoring(client, run.instance_id, settings.wait_seconds)
    return await _outcome(db, client, request.interviewId, status)


async def keep_supplied_transcript(db: Database, interview_id: uuid.UUID, turns: list[dict[str, Any]]) -> None:
    """A request's transcript counts only for an interview with none stored: then it
    becomes the record (so it is scored from the database, and erased with it), checked
    first. With a stored transcript it is ignored."""
    async with db.transaction() as conn:
        if await score_rows.has_transcript(conn, interview_id, lock=True):
            return
        checked = rules.transcript_for_scoring([], turns)  # 400/422 before anything is written
        await score_rows.insert_transcript(
            conn,
            interview_id,
            [
                {"speaker": turn["speaker"], "content": turn["content"], "start_time_ms": index}
                for index, turn in enumerate(checked)
            ],
        )


async def scoring_status(
    db: Database, client: DurableClient, caller: Caller, interview_id: uuid.UUID
) -> ScoringOutcome:
    """GET /api/ai/score/{interviewId}: the run's progress while it runs; otherwise the
    score the database holds (a finished run's history is purged on the way)."""
    await authorize_scoring(db, caller, interview_id)
    status = await client.get_status(instance_id_for(interview_id))
    return await _outcome(db, client, interview_id, status)


async def erase_scoring_history(client: DurableClient, interview_ids: list[Any]) -> int:
    """Erasure: stop any run of these interviews and purge every run's Durable history.
    Raises when an instance could not be purged (the erasure is then retried)."""
    purged = 0
    for interview_id in interview_ids:
        instance_id = instance_id_for(interview_id)
        status = await client.get_status(instance_id)
        if runtime_state(status) is None:
            continue
        if runtime_state(status) in ACTIVE_STATES:
            await client.terminate(instance_id, ERASED_REASON)
            status = await wait_for_scoring(client, instance_id, 10)
            if runtime_state(status) in ACTIVE_STATES:
                raise UpstreamError(f"scoring run {instance_id} did not stop")
        result = await client.purge_instance_history(instance_id)
        purged += int(getattr(result, "instances_deleted", 0) or 0)
        if runtime_state(await client.get_status(instance_id)) is not None:
            raise UpstreamError(f"scoring history {instance_id} could not be purged")
    return purged


# --- human review --------------------------------------------------------------------------

# Who may review a score: the organisation's admins and recruiters (not hiring
# managers or viewers: they read, they do not decide).
REVIEW_ROLES = ORG_ADMIN_ROLES | {"recruiter"}
NO_SCORE_MESSAGE = "This interview has no score to review yet"


async def review_score(db: Database, caller: Caller, interview_id: uuid.UUID, request: ReviewRequest) -> dict[str, Any]:
    """POST /api/ai/score/{interviewId}/review: a person confirms or overrides the score.

    One transaction, the score row locked (a concurrent review or AI upsert waits):
    the review row (history: every review is kept), then for an override the score
    row (009's trigger sets scored_by to the reviewer and writes the audit entry),
    for a confirmation our own audit entry. Returns the stored score with its review."""
    new_score, reason = rules.checked_review(request)  # 400 before anything is read
    if caller.is_service or caller.user_id is None:
        raise Forbidden("A review is a person's decision: sign in as the reviewer")
    reviewer = caller.user_id
    async with db.transaction() as conn:
        interview = await score_rows.interview_with_role(conn, interview_id)
        if interview is None:
            raise NotFound("Interview not found")
        require_role(
            await member_role(conn, interview["organisation_id"], reviewer),
            REVIEW_ROLES,
            "this interview's organisation",
        )
        refuse_if_erased(interview)  # the reason could describe a person who asked to be forgotten
        current = await score_rows.score_of(conn, interview_id, lock=True)
        if current is None:
            raise Conflict(NO_SCORE_MESSAGE)
        previous = current["overall_score"]
        review = await score_rows.insert_review(
            conn,
            {
                "interview_id": interview_id,
                "organisation_id": interview["organisation_id"],
                "reviewer_id": reviewer,
                "decision": request.decision,
                "previous_score": previous,
                "new_score": new_score if new_score is not None else previous,
                "reason": reason,
            },
        )
        if new_score is not None and reason is not None:
            await score_rows.override_score(conn, interview_id, new_score, reason, reviewer)
            if current["human_override"] and previous == new_score:
                # Not an override event for 009's trigger (same score, already a person's):
                # the new reviewer takes responsibility for it, so it is audited here.
                await audit.record(
                    conn,
                    action="interview_score.human_override",
                    entity_type="interview_score",
                    entity_id=interview_id,
                    user_id=reviewer,
                    organisation_id=interview["organisation_id"],
                    old_values={"overall_score": previous, "scored_by": current["scored_by"], "human_override": True},
                    new_values={
                        "overall_score": new_score,
                        "scored_by": str(reviewer),
                        "human_override": True,
                        "reason_given": True,
                        "reviewId": str(review["id"]),
                    },
                )
        else:
            await audit.record(
                conn,
                action="interview_score.review_confirmed",
                entity_type="interview_score",
                entity_id=interview_id,
                user_id=reviewer,
                organisation_id=interview["organisation_id"],
                # Scores, flags and ids only: the reason's text may describe the candidate (as 009).
                new_values={
                    "overall_score": previous,
                    "scored_by": current["scored_by"],
                    "human_override": bool(current["human_override"]),
                    "reason_given": reason is not None,
                    "reviewId": str(review["id"]),
                },
            )
        stored = await score_rows.score_of(conn, interview_id)
        dimensions = await score_rows.dimensions_of(conn, interview_id)
    log_event("scoring.reviewed", interviewId=str(interview_id), decision=request.decision, reviewer=str(reviewer))
    return rules.stored_result(interview_id, stored or {}, dimensions)


# --- the orchestration's steps (blueprints/scoring.py runs each as a Durable activity) --------


async def run_step(step: Callable[..., Awaitable[Any]], *args: Any) -> StepResult:
    """Run one step and describe how it went; never raises."""
    try:
        return {"ok": True, "value": await step(*args), "status": 200, "error": "", "transient": False}
    except ApiError as error:
        return {
            "ok": False,
            "value": None,
            "status": error.status,
            "error": error.message,
            "transient": error.status in TRANSIENT_STATUSES,
        }
    except Exception:  # a bug or an outage we have no name for: worth one more try, then 500
        logging.getLogger("talenti").exception("scoring step %s failed", getattr(step, "__name__", step))
        return {"ok": False, "value": None, "status": 500, "error": "Scoring failed", "transient": True}


@contextmanager
def step_span(step: str, value: Any) -> Iterator[None]:
    """An activity's span, a child of the starter's (its traceparent travels in the input); its log
    records carry the starting request's id."""
    run_trace = (value.get("trace") if isinstance(value, dict) else None) or {}
    interview_id = value.get("interviewId") if isinstance(value, dict) else None
    token = request_id.set(run_trace.get("requestId"))
    try:
        with telemetry.child_span(
            f"scoring.{step}", run_trace.get("traceparent"), attributes={"talenti.interview_id": interview_id}
        ):
            yield
    finally:
        request_id.reset(token)


def run_ended(value: Any, result: StepResult, *, last: bool) -> None:
    """`talenti.scoring.run.duration` when this step ends the run: the last step, a person's score
    standing, or a failure no retry will follow. A transient failure may be retried, so it is not
    an end here (a run failing its last attempt transiently goes unmeasured)."""
    run_trace = (value.get("trace") if isinstance(value, dict) else None) or {}
    started = run_trace.get("startedAt")
    if not isinstance(started, (int, float)):
        return
    if result["ok"]:
        if last:
            outcome = "succeeded"
        elif isinstance(result["value"], dict) and result["value"].get("humanOverride"):
            outcome = "human_override"
        else:
            return
    elif result["transient"]:
        return
    else:
        outcome = "failed"
    telemetry.scoring_run_duration.record(max(0.0, time.time() - started), {"outcome": outcome})


# --- the steps -------------------------------------------------------------------------


async def load_context(db: Database, job: ScoringJob) -> ScoringContext:
    """What the model needs to know about the role, with the request's role fields used
    only where the record has nothing; or `{"humanOverride": True}` when a person's
    score stands. The transcript is checked here (a 400 ends the run before the model
    is asked) but not returned: the scoring step reads it itself."""
    interview_id = job["interviewId"]
    overrides = job.get("overrides") or {}
    async with db.connection() as conn:
        row = await score_rows.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        refuse_if_erased(row)
        existing = await score_rows.score_of(conn, interview_id)
        if existing and (existing["human_override"] or rules.is_confirmed(existing)):
            # A person's score, or one a person confirmed, stands: the model is not asked.
            return {"interviewId": str(interview_id), "humanOverride": True}
        rules.transcript_for_scoring(await score_rows.transcript_of(conn, interview_id), None)
    rubric, rubric_version = rules.resolve_rubric(overrides.get("scoringRubric"), row["role_scoring_rubric"])
    requirements = row["role_requirements"] if isinstance(row["role_requirements"], dict) else None
    return {
        "interviewId": str(interview_id),
        "applicationId": str(row["application_id"]),
        "organisationId": str(row["organisation_id"]),
        "candidateId": str(row["candidate_id"]),
        # The record wins: a request's role fields fill only what the role leaves empty.
        "jobTitle": row["role_title"] or overrides.get("jobTitle"),
        "jobDescription": row["role_description"] or overrides.get("jobDescription"),
        "requirements": requirements or overrides.get("requirements"),
        "orgValues": org_values_of(row["organisation_values"]) or overrides.get("orgValues") or [],
        "rubric": rubric,
        "rubricVersion": rubric_version,
    }


async def score_and_save(db: Database, ai: AIModel, context: ScoringContext) -> ScoringSummary:
    """Read the stored transcript, ask the model, save; returns only what the run
    needs to report (the scores themselves are read from the database)."""
    async with db.connection() as conn:
        transcript = rules.transcript_for_scoring(await score_rows.transcript_of(conn, context["interviewId"]), None)
    decisions = DecisionRecorder(
        Concerning(
            # .get: a run started before these keys existed replays an older context
            candidate_ids=[c] if (c := context.get("candidateId")) else [],
            organisation_id=context.get("organisationId"),
            interview_id=context["interviewId"],
            rubric_version=context["rubricVersion"],
        )
    )
    ai = billed(ai, Payer(organisation_id=context.get("organisationId")))  # the organisation's budget
    try:
        scored = await score_transcript(ai, context, transcript, on_call=decisions)
        saved = await save_result(db, scored, decisions)
        decisions.written()  # committed with the score
    finally:  # the call's row when nothing was saved (a failed call, an erased transcript)
        await decisions.flush(db)
    return {"success": True, "interviewId": context["interviewId"], "humanOverride": bool(saved.get("humanOverride"))}


async def score_transcript(
    ai: AIModel, context: ScoringContext, transcript: list[Turn], on_call: OnCall | None = None
) -> ScoredInterview:
    """Ask the scoring model; returns the result and what to record with it."""
    messages = scoring_messages(
        job_title=context["jobTitle"],
        job_description=context["jobDescription"],
        requirements=context["requirements"],
        org_values=context["orgValues"],
        rubric=context["rubric"],
        transcript=transcript,
    )
    answer = await ai.structured(
        purpose="score",
        prompt_version=PROMPT_VERSION,
        messages=messages,
        schema=ModelScoring,
        tool_name=TOOL_NAME,
        tool_description=TOOL_DESCRIPTION,
        model=ai.scoring_model_name,
        timeout=SCORING_TIMEOUT_SECONDS,
        vocabularies={"rubric": rubric_vocabulary(context["rubric"])},
        check=rules.answer_check(context["rubric"]),
        on_call=on_call,
    )
    result, dropped = rules.build_result(context["interviewId"], context["rubric"], answer, transcript)
    if dropped:
        log_event("scoring.quotes_dropped", interviewId=context["interviewId"], dropped=dropped)
    return {
        "interviewId": context["interviewId"],
        "applicationId": context["applicationId"],
        "result": result,
        "modelVersion": ai.scoring_model_name,
        "promptVersion": PROMPT_VERSION,
        "rubricVersion": context["rubricVersion"],
    }


async def save_result(
    db: Database, scored: ScoredInterview, decisions: DecisionRecorder | None = None
) -> dict[str, Any]:
    """One transaction: upsert the score row, replace its dimensions, move the
    application to 'interviewed'. A human override wins: then nothing is written
    and the stored score is returned, saying so. An interview whose transcript was
    erased while the model was scoring gets nothing written either.
    `decisions`' rows (the AI decision log) are written in the same transaction:
    a score is never saved without the record of the call that made it (fails
    closed: the step fails and is retried)."""
    interview_id, result = scored["interviewId"], scored["result"]
    async with db.transaction() as conn:
        if not await score_rows.has_transcript(conn, interview_id, lock=True):
            raise NotFound("The interview's transcript is gone")
        if decisions is not None:
            await decisions.insert(conn)
        saved = await score_rows.upsert_ai_score(
            conn,
            interview_id,
            {
                "overall_score": result["overall_score"],
                "narrative_summary": result["narrative_summary"],
                "candidate_feedback": result["candidate_feedback"],
                "anti_cheat_risk_level": result["anti_cheat_risk_level"],
                "model_version": scored["modelVersion"],
                "prompt_version": scored["promptVersion"],
                "rubric_version": scored["rubricVersion"],
            },
        )
        if not saved:
            return rules.stored_result(
                interview_id,
                await score_rows.score_of(conn, interview_id) or {},
                await score_rows.dimensions_of(conn, interview_id),
            )
        await score_rows.replace_dimensions(
            conn,
            interview_id,
            [
                {key: d[key] for key in ("dimension", "score", "weight", "evidence", "cited_quotes")}
                for d in result["dimensions"]
            ],
        )
        await score_rows.mark_application_interviewed(conn, scored["applicationId"])
    log_event(
        "scoring.saved",
        interviewId=interview_id,
        overallScore=result["overall_score"],
        model=scored["modelVersion"],
        rubricVersion=scored["rubricVersion"],
    )
    return result
