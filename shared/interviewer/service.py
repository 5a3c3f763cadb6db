"""The AI interviewer (was ai-interviewer): one interviewer turn, answered whole
or streamed as Server-Sent Events.

Every turn makes two model calls at the same time:
- the reply: free text (streamed token by token for /stream);
- the assessment: a small structured call (forced tool) that reads only the
  candidate's last answer and names the competencies it showed.
`detectedCompetencies` is therefore structured and validated in both modes,
and the assessment adds no latency: it runs while the reply is produced. If
the assessment alone fails, the turn still succeeds with an empty list (the
reply is what keeps the interview going); the failure is logged.

When the request names an interview (and is not practice), the server owns
the record (rules.py): the caller must be that interview's candidate, the
interview must still be open with room in its transcript (409 otherwise,
checked before any model call and again, under a row lock, when saving), and
the role, organisation, questions and question index come from the database,
whatever the body says. The turn is saved to `transcript_segments` once the
reply is complete; a refused turn saves nothing.

Both model calls are recorded in the AI decision log (shared/platform/decision_log.py),
about the caller, and the interview and its organisation when the turn has one:
with the turn's transcript (same transaction, under a savepoint, so a failed log
write never loses the turn), otherwise (practice, a failed call) in a short
transaction of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from shared.adapters.ports import AIModel, Database
from shared.interviewer import competency_prompts as competency_prompt
from shared.interviewer import prompts as interviewer_prompt
from shared.interviewer import queries, rules
from shared.interviewer.models import AnswerAssessment, InterviewerRequest, InterviewerResponse
from shared.platform.ai_usage import Payer, billed
from shared.platform.decision_log import Concerning, DecisionRecorder, OnCall
from shared.platform.errors import ApiError, Conflict, Forbidden, NotFound, UpstreamError
from shared.platform.logs import log_event

ASSESSMENT_TIMEOUT_CAP = 10.0  # seconds; a slow assessment must not hold the final event long
SSE_DONE = b"data: [DONE]\n\n"
# After the first text, deltas that arrive within this long of the previous event
# share one event: far fewer events and socket writes, at most this much later.
COALESCE_SECONDS = 0.025


@dataclass
class Turn:
    """One checked request, ready for the model."""

    request: InterviewerRequest
    messages: list[dict[str, Any]]
    save_to: UUID | None  # the interview whose transcript receives this turn
    decisions: DecisionRecorder  # the turn's model calls, for the decision log
    payer: Payer  # the interview's organisation (its budget); none for practice
    received: float = field(default_factory=time.monotonic)


async def prepare_turn(db: Database, user_id: UUID | None, request: InterviewerRequest) -> Turn:
    """Check who may speak in the named interview and whether it is open, and build
    the prompt from the record; no model call yet."""
    save_to = organisation_id = None
    if request.interviewId is not None and not request.practice:
        async with db.connection() as conn:
            interview = await queries.interview_for_turn(conn, request.interviewId)
            if interview is None:
                raise NotFound("Interview not found")
            if interview["candidate_id"] != user_id:
                raise Forbidden("Only the interview's candidate can take this interview")
            state = _state(interview)
            _refuse_unless_open(state, interview, request)
            segments = await queries.transcript(conn, interview["id"])
        request = rules.from_the_record(request, interview, state, segments)
        save_to, organisation_id = interview["id"], interview["organisation_id"]
    about = Concerning(
        candidate_ids=[user_id] if user_id else [], organisation_id=organisation_id, interview_id=save_to
    )
    return Turn(
        request=request,
        messages=interviewer_prompt.interviewer_messages(request),
        save_to=save_to,
        decisions=DecisionRecorder(about),
        payer=Payer(organisation_id=organisation_id, user_id=user_id),
    )


def _state(row: dict[str, Any]) -> rules.InterviewState:
    return rules.InterviewState(
        status=row["status"],
        opened_at=row["opened_at"],
        answers_saved=int(row["answers_saved"]),
        candidate_chars=int(row["candidate_chars"]),
        transcript_chars=int(row["transcript_chars"]),
    )


def _refuse_unless_open(state: rules.InterviewState, row: dict[str, Any], request: InterviewerRequest) -> None:
    reason = rules.refusal(state, row["checked_at"], request.last_candidate_answer)
    if reason is not None:
        log_event("interviewer.turn_refused", level=logging.WARNING, interviewId=str(row["id"]), reason=reason)
        raise Conflict(reason)


async def answer_turn(db: Database, ai: AIModel, turn: Turn) -> InterviewerResponse:
    """The next interviewer turn as one JSON answer."""
    ai = billed(ai, turn.payer)
    try:
        assessment = asyncio.create_task(detect_competencies(ai, turn.request, on_call=turn.decisions))
        try:
            reply = await ai.complete_text(
                purpose="interviewer",
                prompt_version=interviewer_prompt.VERSION,
                messages=turn.messages,
                on_call=turn.decisions,
            )
        except BaseException:
            await _stop(assessment)
            raise
        detected = await assessment
        await _save(db, turn, reply)
        return _response(reply, detected)
    finally:  # what the turn's transaction did not write (practice, a failure)
        await turn.decisions.flush(db)


class _Ended:
    """Queued after the last delta: the model's reply is complete."""


_END = _Ended()
_Item = str | Exception | _Ended


async def open_stream(db: Database, ai: AIModel, turn: Turn) -> AsyncIterator[bytes]:
    """Start the reply and wait for its first token, so that an upstream failure
    before any text (402, 429, 502) is still answered with its HTTP status; then
    hand back the SSE byte stream."""
    ai = billed(ai, turn.payer)
    assessment = asyncio.create_task(detect_competencies(ai, turn.request, on_call=turn.decisions))
    deltas = ai.stream_text(
        purpose="interviewer",
        prompt_version=interviewer_prompt.VERSION,
        messages=turn.messages,
        on_call=turn.decisions,
    )
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    reader = asyncio.create_task(_read(deltas, queue))
    try:
        first = await queue.get()
        if isinstance(first, Exception):
            raise first
    except BaseException:
        await _stop(assessment, reader)
        await turn.decisions.flush(db)
        raise
    return _events(db, turn, first, queue, reader, assessment)


async def _read(deltas: AsyncGenerator[str, None], queue: asyncio.Queue[_Item]) -> None:
    """Pull the model's deltas into the queue as they come. Its own task, so the
    event writer can wait for a batch without ever cancelling a pending read
    (that would end the model stream); a model reply is bounded, so is the queue."""
    try:
        async with contextlib.aclosing(deltas):
            async for delta in deltas:
                queue.put_nowait(delta)
    except Exception as error:  # the writer raises it once the text before it is out
        queue.put_nowait(error)
    else:
        queue.put_nowait(_END)


async def _events(
    db: Database,
    turn: Turn,
    first: _Item,
    queue: asyncio.Queue[_Item],
    reader: asyncio.Task[None],
    assessment: asyncio.Task[list[str]],
) -> AsyncIterator[bytes]:
    """The first delta as its own event, at once; after each event, the deltas that
    arrive within COALESCE_SECONDS go out together as the next one (the same text
    in a fraction of the events and socket writes). A delta after a longer pause
    goes out as soon as it comes."""
    parts: list[str] = []
    try:
        batch: list[str] = []
        end: Exception | _Ended | None = None
        if isinstance(first, str):
            batch.append(first)
        else:
            end = first
        while batch:
            text = "".join(batch)
            parts.append(text)
            yield sse_event({"content": text})
            batch = []
            if end is None:
                end = _take_queued(queue, batch)
            if end is None:  # the reply goes on: the next event gathers what comes meanwhile
                await asyncio.sleep(COALESCE_SECONDS)
                end = _take_queued(queue, batch)
            if end is None and not batch:  # a pause in the reply: the next delta goes out as it comes
                item = await queue.get()
                if isinstance(item, str):
                    batch.append(item)
                else:
                    end = item
        if isinstance(end, Exception):
            raise end
        reply = "".join(parts).strip()
        if not reply:
            raise UpstreamError("The AI model returned an empty answer")
        detected = await assessment
        await _save(db, turn, reply)
        yield sse_event({"done": True, **_response(reply, detected).model_dump()})
    except ApiError as error:  # headers are sent: the failure becomes the stream's last event
        yield sse_event({"error": error.message})
    except Exception:
        logging.getLogger("talenti").exception("interviewer stream failed")
        yield sse_event({"error": "Internal server error"})
    finally:  # also when the client goes away mid-stream
        await _stop(assessment, reader)
        await turn.decisions.flush(db)
    yield SSE_DONE


def _take_queued(queue: asyncio.Queue[_Item], batch: list[str]) -> Exception | _Ended | None:
    """Move the deltas already queued into `batch`; the end or failure behind them, if queued too."""
    while not queue.empty():
        item = queue.get_nowait()
        if not isinstance(item, str):
            return item
        batch.append(item)
    return None


async def _stop(assessment: asyncio.Task[list[str]], reader: asyncio.Task[None] | None = None) -> None:
    """Cancel what is still running (the model stream closes with its reader) and
    wait for it, so no task outlives the stream. Cancelled again meanwhile (a
    client gone), the reader still closes the model stream on its own."""
    running = [task for task in (assessment, reader) if task is not None and not task.done()]
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)


def sse_event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


async def detect_competencies(ai: AIModel, request: InterviewerRequest, on_call: OnCall | None = None) -> list[str]:
    """The competencies the candidate's last answer showed (empty without an answer,
    or when the assessment fails)."""
    answer = request.last_candidate_answer
    if answer is None:
        return []
    keys = competency_prompt.competency_keys(request.competenciesToCover, request.competenciesCovered)
    question = next((m.content for m in reversed(request.messages[:-1]) if m.role == "assistant"), None)
    try:  # the keys are the schema's enum; a key outside them is dropped by the adapter
        assessment = await ai.structured(
            purpose="interviewer.competencies",
            prompt_version=competency_prompt.VERSION,
            messages=competency_prompt.competency_messages(question=question, answer=answer, keys=keys),
            schema=AnswerAssessment,
            tool_name=competency_prompt.TOOL_NAME,
            tool_description=competency_prompt.TOOL_DESCRIPTION,
            vocabularies={"competencies": list(keys)},
            timeout=min(ASSESSMENT_TIMEOUT_CAP, ai.timeout),
            on_call=on_call,
        )
    except ApiError as error:
        log_event(
            "interviewer.competencies_unavailable", level=logging.WARNING, status=error.status, reason=error.message
        )
        return []
    return list(dict.fromkeys(assessment.detectedCompetencies))  # once each, in the model's order


async def _save(db: Database, turn: Turn, reply: str) -> None:
    if turn.save_to is None:
        return
    turn_ms = round((time.monotonic() - turn.received) * 1000)
    logged = False
    async with db.transaction() as conn:
        # Checked again under the row lock: the call may have ended, or another
        # turn filled the transcript, while the model was answering.
        interview = await queries.interview_for_saving(conn, turn.save_to)
        if interview is None:
            raise NotFound("Interview not found")
        _refuse_unless_open(_state(interview), interview, turn.request)
        await queries.save_turn_transcript(
            conn, turn.save_to, candidate_text=turn.request.last_candidate_answer, reply=reply, turn_ms=turn_ms
        )
        logged = await turn.decisions.try_insert(conn)
    if logged:
        turn.decisions.written()


def _response(reply: str, detected: list[str]) -> InterviewerResponse:
    return InterviewerResponse(
        message=reply, detectedCompetencies=detected, competencyCovered=detected[0] if detected else None
    )
