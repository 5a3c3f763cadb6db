"""The scoring orchestration: a Durable Functions orchestrator chaining three
activities, declared here on their own blueprint (function_app registers it).

    scoring_load_context      interview, role, rubric, organisation values, transcript
    scoring_score_transcript  the model scores every rubric dimension (structured output)
    scoring_save              one transaction: score row, its dimensions, application status

The orchestrator calls each activity by its function object, so the SDK names
it; a name is written once, as the function's name. Every activity returns a
`StepResult`: success with a value, or a failure with the contract's status
and whether another attempt may help. The orchestrator retries transient
failures itself (a durable timer between attempts) and ends the run with the
last failure's status: nothing crosses the boundary as text to be parsed.

The orchestrator is deterministic: it reads only its input, the activities'
results and the context's clock, so Durable can replay it at any time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from datetime import timedelta
from typing import Any, TypedDict, cast

import azure.functions as func

from shared.adapters.ports import AIModel, Database
from shared.platform.errors import ApiError, NotFound
from shared.platform.logs import log_event
from shared.platform.wiring import get_services
from shared.scoring import queries as score_rows
from shared.scoring import rules
from shared.scoring.models import ModelScoring
from shared.scoring.prompts import PROMPT_VERSION, TOOL_DESCRIPTION, TOOL_NAME, rubric_vocabulary, scoring_messages

bp = func.Blueprint()

ORCHESTRATOR = "score_interview_orchestrator"
SCORING_TIMEOUT_SECONDS = 120.0  # one model call reads a whole interview
# Statuses worth another attempt: the model, the provider or the database may answer next time.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503})


class StepResult(TypedDict):
    ok: bool
    value: Any  # the step's output when ok
    status: int  # the contract's status when not ok
    error: str
    transient: bool  # another attempt may succeed


class RetryPolicy(TypedDict):
    firstRetryIntervalMs: int
    maxAttempts: int


class ScoringContext(TypedDict, total=False):
    """What the model needs (load's output, score's input); `report` alone when a person's score stands."""

    interviewId: str
    applicationId: str
    jobTitle: str | None
    jobDescription: str | None
    requirements: dict[str, Any] | None
    orgValues: list[str]
    rubric: list[rules.RubricDimension]
    rubricVersion: str
    transcript: list[rules.Turn]
    report: dict[str, Any]


class ScoredInterview(TypedDict):
    """The model's validated result and what to record with it (score's output, save's input)."""

    interviewId: str
    applicationId: str
    result: dict[str, Any]
    modelVersion: str
    promptVersion: str
    rubricVersion: str


class ScoringJob(TypedDict):
    interviewId: str
    overrides: dict[str, Any]
    retry: RetryPolicy


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


# --- the steps -------------------------------------------------------------------------


async def load_context(db: Database, job: ScoringJob) -> ScoringContext:
    """Everything the model needs, with the request's overrides applied; or
    `{"report": ...}` when a person's score stands and there is nothing to do."""
    interview_id = job["interviewId"]
    overrides = job.get("overrides") or {}
    async with db.connection() as conn:
        row = await score_rows.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        existing = await score_rows.score_of(conn, interview_id)
        if existing and existing["human_override"]:
            return {
                "report": rules.stored_result(
                    interview_id, existing, await score_rows.dimensions_of(conn, interview_id)
                )
            }
        stored_turns = await score_rows.transcript_of(conn, interview_id)
    rubric, rubric_version = rules.resolve_rubric(overrides.get("scoringRubric"), row["role_scoring_rubric"])
    transcript = rules.transcript_for_scoring(stored_turns, overrides.get("transcripts"))
    requirements = overrides.get("requirements")
    if requirements is None and isinstance(row["role_requirements"], dict):
        requirements = row["role_requirements"]
    return {
        "interviewId": str(interview_id),
        "applicationId": str(row["application_id"]),
        "jobTitle": overrides.get("jobTitle") or row["role_title"],
        "jobDescription": overrides.get("jobDescription") or row["role_description"],
        "requirements": requirements,
        "orgValues": overrides.get("orgValues") or rules.org_values_of(row["organisation_values"]),
        "rubric": rubric,
        "rubricVersion": rubric_version,
        "transcript": transcript,
    }


async def score_transcript(ai: AIModel, context: ScoringContext) -> ScoredInterview:
    """Ask the scoring model; returns the result and what to record with it."""
    messages = scoring_messages(
        job_title=context["jobTitle"],
        job_description=context["jobDescription"],
        requirements=context["requirements"],
        org_values=context["orgValues"],
        rubric=context["rubric"],
        transcript=context["transcript"],
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
    )
    result, dropped = rules.build_result(context["interviewId"], context["rubric"], answer, context["transcript"])
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


async def save_result(db: Database, scored: ScoredInterview) -> dict[str, Any]:
    """One transaction: upsert the score row, replace its dimensions, move the
    application to 'interviewed'. A human override wins: then nothing is written
    and the stored score is returned, saying so."""
    interview_id, result = scored["interviewId"], scored["result"]
    async with db.transaction() as conn:
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


# --- the Durable functions -------------------------------------------------------------------


@bp.activity_trigger(input_name="job")
async def scoring_load_context(job: ScoringJob) -> StepResult:
    return await run_step(load_context, get_services().db, job)


@bp.activity_trigger(input_name="loaded")
async def scoring_score_transcript(loaded: ScoringContext) -> StepResult:
    services = get_services()
    # The adapter is read inside the step: "not configured" (503) is a result like any other.
    return await run_step(lambda: score_transcript(services.ai, loaded))


@bp.activity_trigger(input_name="scored")
async def scoring_save(scored: ScoredInterview) -> StepResult:
    return await run_step(save_result, get_services().db, scored)


STEPS = (
    (scoring_load_context, "loading", "Loading the interview, its role and transcript"),
    (scoring_score_transcript, "scoring", "The AI model is scoring the transcript"),
    (scoring_save, "saving", "Saving the scores"),
)


@bp.function_name(ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def score_interview_orchestrator(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Load, score, save; the custom status names the current step."""
    job: ScoringJob = context.get_input()
    policy = job["retry"]

    def status(step: str, message: str) -> None:
        context.set_custom_status({"step": step, "message": message})

    value: Any = job
    for activity, step, message in STEPS:
        status(step, message)
        for attempt in range(1, policy["maxAttempts"] + 1):
            result: StepResult = yield context.call_activity(activity, value)
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
        if isinstance(value, dict) and "report" in value:  # nothing to score: a person's score stands
            status("completed", rules.HUMAN_OVERRIDE_MESSAGE)
            return cast(dict[str, Any], value["report"])
    status("completed", "Scored")
    return cast(dict[str, Any], value)
