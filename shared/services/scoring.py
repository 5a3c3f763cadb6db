"""Interview scoring (was the `score-interview` edge function).

Scoring runs as a Durable Functions orchestration of three steps, each an
activity (see `blueprints/score_interview.py` for the registrations):

    load_context   interview, role, rubric, organisation values, transcript
    score          the model scores every rubric dimension (structured output)
    save           one transaction: score row, its dimensions, application status

`scoring_orchestration` is the orchestrator. It is deterministic: it reads
only its input and the activities' results (no I/O, clock, randomness or
settings), so Durable can replay it at any time. `start_scoring` starts it,
or reports the run already there, for the HTTP starter and the call-ended
event alike.

Failures: a permanent one (unknown interview, no candidate speech, invalid
rubric, AI not configured or out of credits) is returned by the activity as
`{"ok": false, "status": ..., "error": ...}` and ends the orchestration at
once with that result. Anything else raised in an activity is transient and
retried by Durable (`call_activity_with_retry`); when the attempts run out
the orchestration ends with the last error's status (502 for the model).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from shared.auth import ORG_ADMIN_ROLES, require_role
from shared.db import interviews, orgs
from shared.db import scoring as score_rows
from shared.errors import (ApiError, BadRequest, NotConfigured, NotFound, PaymentRequired, RateLimited,
                           Unprocessable, UpstreamError)
from shared.logs import log_event
from shared.models.scoring import ModelScoring, ScoreRequest, ScoreResponse, ScoringAccepted

# The Durable function names (the blueprint registers functions with these names).
ORCHESTRATOR = "score_interview_orchestrator"
LOAD_ACTIVITY = "scoring_load_context"
SCORE_ACTIVITY = "scoring_score_transcript"
SAVE_ACTIVITY = "scoring_save"

SCORING_ROLES = ORG_ADMIN_ROLES | {"recruiter"}
SCORING_TIMEOUT_SECONDS = 120.0  # one model call reads a whole interview
MAX_TRANSCRIPT_CHARS = 200_000
MAX_RUBRIC_DIMENSIONS = 30
OVERRIDE_FIELDS = ("jobTitle", "jobDescription", "requirements", "orgValues", "scoringRubric", "transcripts")

# API.md: the rubric when neither the request nor the role has one.
DEFAULT_RUBRIC: dict[str, dict[str, Any]] = {
    "vocabulary": {"weight": 0.10, "label": "Vocabulary"},
    "domain_knowledge": {"weight": 0.15, "label": "Domain Knowledge"},
    "technical_skills": {"weight": 0.20, "label": "Technical Skills"},
    "experience_depth": {"weight": 0.10, "label": "Experience Depth"},
    "communication": {"weight": 0.15, "label": "Communication"},
    "culture_fit": {"weight": 0.10, "label": "Culture Fit"},
    "motivation": {"weight": 0.10, "label": "Motivation"},
    "confidence": {"weight": 0.10, "label": "Confidence"},
}
DEFAULT_RUBRIC_VERSION = "default-v1"

HUMAN_OVERRIDE_MESSAGE = ("This interview's score was set by a person and is kept as it is; "
                          "the AI score did not replace it.")


# --- rubric ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def resolve_rubric(requested: dict | None, stored: Any) -> tuple[list[dict], str]:
    """The rubric to score with: the request's, else the role's, else the defaults.

    Returns the dimensions (`dimension`, `label`, `weight` normalised to sum 1)
    and the rubric version stored with the score. An invalid rubric is a 400.
    """
    if requested:
        return _normalise_rubric(requested, "scoringRubric")
    if stored:
        return _normalise_rubric(stored, "The role's scoring rubric")
    dimensions, _ = _normalise_rubric(DEFAULT_RUBRIC, "default")
    return dimensions, DEFAULT_RUBRIC_VERSION


def _normalise_rubric(rubric: Any, source: str) -> tuple[list[dict], str]:
    if not isinstance(rubric, dict) or not rubric:
        raise BadRequest(f"{source} must be an object of dimensions with weights")
    if len(rubric) > MAX_RUBRIC_DIMENSIONS:
        raise BadRequest(f"{source} has more than {MAX_RUBRIC_DIMENSIONS} dimensions")
    entries = []
    for key, value in rubric.items():
        name = str(key).strip()
        if not name or len(name) > 64 or _CONTROL.search(name):
            raise BadRequest(f"{source}: dimension names must be 1 to 64 printable characters")
        weight = value.get("weight") if isinstance(value, dict) else value
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise BadRequest(f"{source}: the weight of {name!r} must be a number")
        if weight < 0:
            raise BadRequest(f"{source}: the weight of {name!r} is negative")
        label = value.get("label") if isinstance(value, dict) else None
        label = _CONTROL.sub(" ", str(label)).strip()[:100] if label else name.replace("_", " ").title()
        entries.append((name, label, float(weight)))
    total = sum(weight for _, _, weight in entries)
    if total <= 0:
        raise BadRequest(f"{source}: the weights must add up to more than zero")
    dimensions = [{"dimension": name, "label": label, "weight": weight / total} for name, label, weight in entries]
    canonical = json.dumps(sorted([d["dimension"], d["label"], round(d["weight"], 6)] for d in dimensions))
    return dimensions, "custom-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def overall_score(scores: dict[str, float], rubric: list[dict]) -> int:
    """The weighted mean of the 0-10 scores, times 10, rounded half up (0-100)."""
    mean = sum(scores[d["dimension"]] * d["weight"] for d in rubric)
    return max(0, min(100, math.floor(mean * 10 + 0.5)))


def org_values_of(values_framework: Any) -> list[str]:
    """The organisation's values as short strings, from the shapes values_framework takes
    (a list of names, a list of {name, description}, or {"values": [...]})."""
    if isinstance(values_framework, dict):
        inner = values_framework.get("values")
        values_framework = inner if inner is not None else list(values_framework.keys())
    values = []
    for item in values_framework if isinstance(values_framework, list) else []:
        if isinstance(item, dict):
            item = item.get("name") or item.get("value") or item.get("title")
        if isinstance(item, str) and item.strip():
            values.append(item.strip()[:200])
    return values[:50]


# --- transcript and quotes --------------------------------------------------------------

_SPEAKERS = {"candidate": "candidate", "user": "candidate", "ai": "ai", "interviewer": "ai", "assistant": "ai"}


def transcript_for_scoring(stored: list[dict], supplied: list[dict] | None) -> list[dict]:
    """The turns to score: the stored transcript whenever there is one (the record
    is the source of truth), else the request's. 400 without candidate speech."""
    turns = []
    for turn in stored or supplied or []:
        content = (turn.get("content") or "").strip()
        if content:
            # Anything not known as the candidate counts as the interviewer: it is never evidence.
            speaker = _SPEAKERS.get(str(turn.get("speaker") or "").strip().lower(), "ai")
            turns.append({"speaker": speaker, "content": content})
    if not any(turn["speaker"] == "candidate" for turn in turns):
        raise BadRequest("The transcript has no candidate speech to score")
    if sum(len(turn["content"]) for turn in turns) > MAX_TRANSCRIPT_CHARS:
        raise Unprocessable(f"The transcript is longer than {MAX_TRANSCRIPT_CHARS} characters")
    return turns


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


_QUOTE_MARKS = "\"'“”‘’«»…. "


def verify_quotes(quotes: list[str], candidate_text: str) -> tuple[list[str], int]:
    """Keep the quotes found in the candidate's turns (whitespace and case folded);
    `candidate_text` is `candidate_corpus(...)`. Returns (kept, number dropped)."""
    kept, dropped = [], 0
    for quote in quotes:
        needle = _fold(quote).strip(_QUOTE_MARKS)
        if not needle:
            continue
        if needle in candidate_text and "\x00" not in needle:
            kept.append(quote.strip())
        else:
            dropped += 1
    return kept, dropped


def candidate_corpus(transcript: list[dict]) -> str:
    """The candidate's turns, folded, separated so that no quote spans two turns."""
    return "\x00".join(_fold(t["content"]) for t in transcript if t["speaker"] == "candidate")


def answer_check(rubric: list[dict]):
    """The `check` for the model's answer: every rubric dimension exactly once, nothing else.
    (Scores outside 0-10 already fail the schema.)"""
    expected = [d["dimension"] for d in rubric]

    def check(answer: ModelScoring) -> None:
        given = [d.dimension for d in answer.dimensions]
        missing = [key for key in expected if key not in given]
        unknown = sorted({key for key in given if key not in expected})
        repeated = sorted({key for key in given if given.count(key) > 1})
        problems = []
        if missing:
            problems.append(f"missing rubric dimensions: {', '.join(missing)}")
        if unknown:
            problems.append(f"dimensions not in the rubric: {', '.join(unknown)}")
        if repeated:
            problems.append(f"dimensions scored more than once: {', '.join(repeated)}")
        if problems:
            raise ValueError("; ".join(problems) + f". Score exactly these dimensions: {', '.join(expected)}")

    return check


def build_result(interview_id: str, rubric: list[dict], answer: ModelScoring, transcript: list[dict]) -> dict:
    """The contract's 200 body from a validated answer: rubric order and weights,
    unverifiable quotes dropped (and said so in the evidence), the overall score ours."""
    corpus = candidate_corpus(transcript)
    by_key = {d.dimension: d for d in answer.dimensions}
    dimensions, dropped_total = [], 0
    for entry in rubric:
        scored = by_key[entry["dimension"]]
        quotes, dropped = verify_quotes(scored.cited_quotes, corpus)
        evidence = scored.evidence.strip()
        if dropped:
            dropped_total += dropped
            evidence += (f" [{dropped} quoted passage{'s' if dropped > 1 else ''} not found in the candidate's "
                         "answers removed.]")
        dimensions.append({"dimension": entry["dimension"], "score": round(scored.score, 2),
                           "weight": round(entry["weight"], 4), "evidence": evidence, "cited_quotes": quotes})
    if dropped_total:
        log_event("scoring.quotes_dropped", interviewId=interview_id, dropped=dropped_total)
    return ScoreResponse(
        interviewId=interview_id, dimensions=dimensions,
        overall_score=overall_score({d.dimension: d.score for d in answer.dimensions}, rubric),
        narrative_summary=answer.narrative_summary.strip(), candidate_feedback=answer.candidate_feedback.strip(),
        anti_cheat_risk_level=answer.anti_cheat_risk_level, anti_cheat_notes=answer.anti_cheat_notes.strip(),
    ).model_dump(mode="json")


# --- the three steps (activities) ---------------------------------------------------------

# Statuses worth another attempt: the model or the provider may answer next time.
TRANSIENT_STATUSES = frozenset({429, 500, 502})


class RetryableStepError(Exception):
    """A step failure that Durable should retry. The status travels in the
    message (activity failures reach the orchestrator as text)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"[status={status}] {message}")


async def run_step(step, *args) -> dict:
    """Run one step: `{"ok": true, "value": ...}`, a permanent failure as a result,
    a transient one raised for Durable to retry."""
    try:
        return {"ok": True, "value": await step(*args)}
    except ApiError as error:
        if error.status in TRANSIENT_STATUSES:
            raise RetryableStepError(error.status, error.message) from None
        return {"ok": False, "status": error.status, "error": error.message}


async def load_context(db, job: dict) -> dict:
    """Everything the model needs, with the request's overrides applied."""
    interview_id = job["interviewId"]
    overrides = job.get("overrides") or {}
    async with db.connection() as conn:
        row = await interviews.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        existing = await score_rows.score_of(conn, interview_id)
        if existing and existing["human_override"]:
            return {"report": await stored_result(conn, interview_id, existing)}
        stored_turns = await interviews.transcript_of(conn, interview_id)
    rubric, rubric_version = resolve_rubric(overrides.get("scoringRubric"), row["role_scoring_rubric"])
    transcript = transcript_for_scoring(stored_turns, overrides.get("transcripts"))
    requirements = overrides.get("requirements")
    if requirements is None and isinstance(row["role_requirements"], dict):
        requirements = row["role_requirements"]
    return {
        "interviewId": str(interview_id), "applicationId": str(row["application_id"]),
        "jobTitle": overrides.get("jobTitle") or row["role_title"],
        "jobDescription": overrides.get("jobDescription") or row["role_description"],
        "requirements": requirements,
        "orgValues": overrides.get("orgValues") or org_values_of(row["organisation_values"]),
        "rubric": rubric, "rubricVersion": rubric_version, "transcript": transcript,
    }


async def score_transcript(ai, context: dict) -> dict:
    """Ask the scoring model; returns the result and what to record with it."""
    from shared.prompts.scoring import PROMPT_VERSION, TOOL_DESCRIPTION, TOOL_NAME, scoring_messages

    messages = scoring_messages(job_title=context["jobTitle"], job_description=context["jobDescription"],
                                requirements=context["requirements"], org_values=context["orgValues"],
                                rubric=context["rubric"], transcript=context["transcript"])
    answer = await ai.structured(purpose="score", prompt_version=PROMPT_VERSION, messages=messages,
                                 schema=ModelScoring, tool_name=TOOL_NAME, tool_description=TOOL_DESCRIPTION,
                                 model=ai.scoring_model_name, timeout=SCORING_TIMEOUT_SECONDS,
                                 check=answer_check(context["rubric"]))
    return {
        "interviewId": context["interviewId"], "applicationId": context["applicationId"],
        "result": build_result(context["interviewId"], context["rubric"], answer, context["transcript"]),
        "modelVersion": ai.scoring_model_name, "promptVersion": PROMPT_VERSION,
        "rubricVersion": context["rubricVersion"],
    }


async def save_result(db, scored: dict) -> dict:
    """One transaction: upsert the score row, replace its dimensions, move the
    application to 'interviewed'. A human override wins: then nothing is written
    and the stored score is returned, saying so."""
    interview_id, result = scored["interviewId"], scored["result"]
    async with db.transaction() as conn:
        saved = await score_rows.upsert_ai_score(conn, interview_id, {
            "overall_score": result["overall_score"], "narrative_summary": result["narrative_summary"],
            "candidate_feedback": result["candidate_feedback"],
            "anti_cheat_risk_level": result["anti_cheat_risk_level"], "model_version": scored["modelVersion"],
            "prompt_version": scored["promptVersion"], "rubric_version": scored["rubricVersion"],
        })
        if not saved:
            return await stored_result(conn, interview_id)
        await score_rows.replace_dimensions(conn, interview_id, [
            {key: d[key] for key in ("dimension", "score", "weight", "evidence", "cited_quotes")}
            for d in result["dimensions"]])
        await interviews.mark_application_interviewed(conn, scored["applicationId"])
    log_event("scoring.saved", interviewId=interview_id, overallScore=result["overall_score"],
              model=scored["modelVersion"], rubricVersion=scored["rubricVersion"])
    return result


async def stored_result(conn, interview_id, score: dict | None = None) -> dict:
    """The stored score in the contract's shape (a human-overridden one)."""
    score = score or await score_rows.score_of(conn, interview_id)
    dimensions = await score_rows.dimensions_of(conn, interview_id)
    return ScoreResponse(
        interviewId=interview_id,
        dimensions=[{"dimension": d["dimension"], "score": float(d["score"]),
                     "weight": float(d["weight"] if d["weight"] is not None else 0),
                     "evidence": d["evidence"] or "", "cited_quotes": d["cited_quotes"] or []}
                    for d in dimensions],
        overall_score=score["overall_score"] or 0, narrative_summary=score["narrative_summary"] or "",
        candidate_feedback=score["candidate_feedback"] or "",
        anti_cheat_risk_level=score["anti_cheat_risk_level"], anti_cheat_notes="",
        humanOverride=bool(score["human_override"]),
        message=HUMAN_OVERRIDE_MESSAGE if score["human_override"] else None,
    ).model_dump(mode="json")


# --- the orchestrator (deterministic: input and activity results only) ----------------------

_STATUS_IN_FAILURE = re.compile(r"\[status=(\d{3})\] ([^\n]*)")


def scoring_orchestration(context):
    """Load, score, save; the custom status names the current step."""
    from azure.durable_functions import RetryOptions

    job = context.get_input()
    retry = RetryOptions(job["retry"]["firstRetryIntervalMs"], job["retry"]["maxAttempts"])
    interview_id = job["interviewId"]

    def step(name: str, message: str) -> None:
        context.set_custom_status({"step": name, "message": message})

    def failed(status: int, error: str) -> dict:
        step("failed", error)
        return {"success": False, "interviewId": interview_id, "status": status, "error": error}

    steps = [
        (LOAD_ACTIVITY, "loading", "Loading the interview, its role and transcript"),
        (SCORE_ACTIVITY, "scoring", "The AI model is scoring the transcript"),
        (SAVE_ACTIVITY, "saving", "Saving the scores"),
    ]
    value: Any = job
    for activity, name, message in steps:
        step(name, message)
        try:
            outcome = yield context.call_activity_with_retry(activity, retry, value)
        except Exception as error:  # the attempts ran out
            found = _STATUS_IN_FAILURE.search(str(error))
            if found:
                return failed(int(found.group(1)), found.group(2).strip())
            return failed(500, f"Scoring failed while {name} after {retry.max_number_of_attempts} attempts")
        if not outcome["ok"]:
            return failed(outcome["status"], outcome["error"])
        value = outcome["value"]
        if isinstance(value, dict) and "report" in value:  # nothing to score: a person's score stands
            step("completed", HUMAN_OVERRIDE_MESSAGE)
            return value["report"]
    step("completed", "Scored")
    return value


# --- starting, waiting, answering -------------------------------------------------------------

ACTIVE_STATES = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})


def parse_interview_id(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def instance_id_for(interview_id) -> str:
    """One orchestration instance per interview: concurrent starts share it."""
    return f"score-{uuid.UUID(str(interview_id))}"


def runtime_state(status) -> str | None:
    state = getattr(status, "runtime_status", None) if status else None
    return state.value if state is not None else None


def _succeeded(status) -> bool:
    output = getattr(status, "output", None)
    return runtime_state(status) == "Completed" and isinstance(output, dict) and output.get("success") is True


@dataclass
class ScoringRun:
    instance_id: str
    started: bool  # False: an earlier or running instance is reported
    status: Any = None  # its DurableOrchestrationStatus when reported


async def start_scoring(client, interview_id, *, rescore: bool = False, overrides: dict | None = None,
                        settings=None) -> ScoringRun:
    """Start scoring the interview, or report the run already there: a running one
    always; a successful finished one unless `rescore`. Used by POST /api/ai/score
    and by the call-ended event (with the Durable client their function receives).
    `settings` defaults to the app's."""
    from shared.config import get_settings

    instance_id = instance_id_for(interview_id)
    status = await client.get_status(instance_id)
    if runtime_state(status) in ACTIVE_STATES or (_succeeded(status) and not rescore):
        return ScoringRun(instance_id, started=False, status=status)
    settings = settings or get_settings()
    job = {
        "interviewId": str(uuid.UUID(str(interview_id))),
        "overrides": {key: value for key, value in (overrides or {}).items()
                      if key in OVERRIDE_FIELDS and value is not None},
        # Settings are read here, never in the orchestrator: replays must see the same values.
        "retry": {"firstRetryIntervalMs": max(1, round(settings.SCORE_RETRY_INTERVAL_SECONDS * 1000)),
                  "maxAttempts": settings.SCORE_RETRY_ATTEMPTS},
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


async def wait_for_scoring(client, instance_id: str, seconds: float):
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


_ERRORS_BY_STATUS = {400: BadRequest, 402: PaymentRequired, 404: NotFound, 422: Unprocessable,
                     502: UpstreamError, 503: NotConfigured}


def finished_result(status) -> dict | None:
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


def request_overrides(request: ScoreRequest) -> dict:
    return request.model_dump(mode="json", include=set(OVERRIDE_FIELDS), exclude_none=True)


async def authorize_scoring(db, caller, interview_id) -> None:
    """404 for an unknown interview; a user must be an admin or recruiter of its organisation."""
    async with db.connection() as conn:
        row = await interviews.interview_with_role(conn, interview_id)
        if row is None:
            raise NotFound("Interview not found")
        if caller.is_service:
            return
        role = await orgs.member_role(conn, row["organisation_id"], caller.user_id)
    require_role(role, SCORING_ROLES, "this interview's organisation")


def scoring_accepted(instance_id: str, status_url: str, status=None) -> ScoringAccepted:
    return ScoringAccepted(id=instance_id, statusQueryGetUri=status_url,
                           runtimeStatus=runtime_state(status) or "Pending",
                           customStatus=getattr(status, "custom_status", None) or None)


async def request_scoring(services, client, caller, request: ScoreRequest,
                          status_url: str) -> tuple[dict | None, ScoringAccepted | None]:
    """POST /api/ai/score: check, start (or find) the run, wait up to SCORE_WAIT_SECONDS.
    Returns (200 body, None) when finished, else (None, the 202 body pointing at `status_url`)."""
    await authorize_scoring(services.db, caller, request.interviewId)
    if request.scoringRubric:
        resolve_rubric(request_overrides(request)["scoringRubric"], None)  # an invalid rubric is a 400 now
    run = await start_scoring(client, request.interviewId, rescore=request.rescore,
                              overrides=request_overrides(request), settings=services.settings)
    status = run.status if (run.status and runtime_state(run.status) not in ACTIVE_STATES) else \
        await wait_for_scoring(client, run.instance_id, services.settings.SCORE_WAIT_SECONDS)
    result = finished_result(status)
    if result is not None:
        return result, None
    return None, scoring_accepted(run.instance_id, status_url, status)


async def scoring_status(services, client, caller, interview_id,
                         status_url: str) -> tuple[dict | None, ScoringAccepted | None]:
    """GET /api/ai/score/{interviewId}: the finished result (200), the run's progress
    (202), or the stored score when no run is known (e.g. scored before a deployment)."""
    await authorize_scoring(services.db, caller, interview_id)
    instance_id = instance_id_for(interview_id)
    status = await client.get_status(instance_id)
    if runtime_state(status) is not None:
        result = finished_result(status)
        return (result, None) if result is not None else (None, scoring_accepted(instance_id, status_url, status))
    async with services.db.connection() as conn:
        if await score_rows.score_of(conn, interview_id) is None:
            raise NotFound("This interview has not been scored")
        return await stored_result(conn, interview_id), None
