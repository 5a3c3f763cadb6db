"""Scoring (was score-interview): POST /api/ai/score and GET /api/ai/score/{interviewId}
start, join and poll the interview's one Durable orchestration, declared here
with its two activities. Each activity runs one step of shared/scoring/service.py;
they pass ids and the role's context, never the transcript or the scores, so the
task hub holds none of the candidate's words.

The orchestrator is deterministic: it reads only its input, the activities'
results and the context's clock, so Durable can replay it at any time. It
retries transient failures itself (a durable timer between attempts) and ends
the run with the last failure's status.
"""

import uuid
from collections.abc import Generator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.errors import NotFound
from shared.platform.http import USER, USER_OR_SERVICE, Call, api, json_response
from shared.platform.wiring import get_services
from shared.scoring.models import (
    ORCHESTRATOR,
    ReviewRequest,
    ScoreRequest,
    ScoreResponse,
    ScoringAccepted,
    ScoringContext,
    ScoringDocs,
    ScoringJob,
    StepResult,
)

if TYPE_CHECKING:
    from shared.scoring.service import ScoringOutcome

bp = func.Blueprint()


@api(
    bp,
    "ai/score",
    auth=USER_OR_SERVICE,
    body=ScoreRequest,
    response=ScoreResponse,
    rate_limit=Bucket.AI_SCORE,
    durable_client=True,
    former="score-interview",
    errors=(402, 404, 422, 502),
    docs=ScoringDocs(),
    model_budget=True,
)
async def score_interview(call: Call) -> Any:
    """Score an interview against its rubric: 200 with the scores, or 202 while it runs."""
    from shared.scoring.service import ScoringSettings, request_scoring

    outcome = await request_scoring(
        call.services.db, call.durable_client, ScoringSettings.of(call.services.settings), call.principal, call.body
    )
    return answer(call, call.body.interviewId, outcome)


@api(
    bp,
    "ai/score/{interviewId}",
    methods=("GET",),
    auth=USER_OR_SERVICE,
    response=ScoreResponse,
    rate_limit=Bucket.AI_SCORE_STATUS,
    durable_client=True,
    errors=(400, 402, 404, 422, 502),
    docs=ScoringDocs(),
)
async def score_interview_status(call: Call) -> Any:
    """Poll a scoring run: 200 with the scores, 202 while it runs."""
    from shared.scoring.service import scoring_status

    try:
        interview_id = uuid.UUID(str(call.request.path_params.get("interviewId")))
    except ValueError:
        raise NotFound("Interview not found") from None
    outcome = await scoring_status(call.services.db, call.durable_client, call.principal, interview_id)
    return answer(call, interview_id, outcome)


@api(
    bp,
    "ai/score/{interviewId}/review",
    auth=USER,
    body=ReviewRequest,
    response=ScoreResponse,
    rate_limit=Bucket.AI_SCORE_REVIEW,
    errors=(400, 403, 404, 409, 422),
)
async def review_interview_score(call: Call) -> Any:
    """A person confirms or overrides the interview's AI score (an override needs a score and a reason);
    the reviewed score is kept by every later AI run. 409 while there is no score."""
    from shared.scoring.service import review_score

    try:
        interview_id = uuid.UUID(str(call.request.path_params.get("interviewId")))
    except ValueError:
        raise NotFound("Interview not found") from None
    return await review_score(call.services.db, call.principal, interview_id, call.body)


def answer(call: Call, interview_id: object, outcome: "ScoringOutcome") -> Any:
    """200 with the result, or 202 pointing at the status route (never Durable's keyed URLs)."""
    if outcome.result is not None:
        return outcome.result
    # The configured public address, never the request's Host header (which a caller chooses).
    status_url = f"{call.services.settings.public_base_url(str(call.request.base_url))}/api/ai/score/{interview_id}"
    accepted = ScoringAccepted(
        id=outcome.instance_id,
        statusQueryGetUri=status_url,
        runtimeStatus=outcome.runtime_status,
        customStatus=outcome.custom_status,
    )
    return json_response(accepted, 202, headers={"Location": status_url, "Retry-After": "5"})


# --- the orchestration ------------------------------------------------------------------


@bp.activity_trigger(input_name="job")
async def scoring_load_context(job: ScoringJob) -> StepResult:
    from shared.scoring.service import load_context, run_ended, run_step, step_span

    with step_span("load_context", job):
        result = await run_step(load_context, get_services().db, job)
    run_ended(job, result, last=False)
    return result


@bp.activity_trigger(input_name="loaded")
async def scoring_score_and_save(loaded: ScoringContext) -> StepResult:
    from shared.scoring.service import run_ended, run_step, score_and_save, step_span

    services = get_services()
    with step_span("score_and_save", loaded):
        # The adapter is read inside the step: "not configured" (503) is a result like any other.
        result = await run_step(lambda: score_and_save(services.db, services.metered_ai(), loaded))
    run_ended(loaded, result, last=True)
    return result


STEPS = (
    (scoring_load_context, "loading", "Loading the interview, its role and transcript"),
    (scoring_score_and_save, "scoring", "The AI model is scoring the transcript; then the scores are saved"),
)


@bp.function_name(ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def score_interview_orchestrator(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Load, then score and save; the custom status names the current step. The output
    says only whether it worked: the scores are read from the database."""
    from shared.scoring import rules

    job: ScoringJob = context.get_input()
    policy = job["retry"]

    def status(step: str, message: str) -> None:
        context.set_custom_status({"step": step, "message": message})

    value: Any = job
    for activity, step, message in STEPS:
        status(step, message)
        for attempt in range(1, policy["maxAttempts"] + 1):
            result: StepResult = yield context.call_activity(activity, rules.with_trace(value, job))
            if result["ok"] or not result["transient"] or attempt == policy["maxAttempts"]:
                break
            yield context.create_timer(
                context.current_utc_datetime + timedelta(milliseconds=policy["firstRetryIntervalMs"])
            )
        if not result["ok"]:
            status("failed", result["error"])
            return {
                "success": False,
                "interviewId": job["interviewId"],
                "status": result["status"],
                "error": result["error"],
            }
        value = result["value"]
        if isinstance(value, dict) and value.get("humanOverride"):  # nothing to score: a person's score stands
            status("completed", rules.HUMAN_OVERRIDE_MESSAGE)
            return {"success": True, "interviewId": job["interviewId"], "humanOverride": True}
    status("completed", "Scored")
    return cast(dict[str, Any], value)
