"""The AI decision log (EU AI Act Art. 12): one app.ai_decisions row per model
call that concerns a candidate, per candidate. Never the text: purpose, ids,
model, versions, a SHA-256 of the exact input, outcome, tokens, latency.

Who does what:
- the AI client (shared/ai/client.py) measures each call and hands a `ModelCall`
  to the `on_call` callback the caller passed;
- the feature knows whom the call concerns (`Concerning`) and writes the rows
  with a `DecisionRecorder`: `insert(conn)` inside its own transaction (scoring:
  a score is not saved without its log rows), or `flush(db)` in a short
  transaction of its own, which never raises (the user's answer is not lost for
  a log row; the failure is logged as `ai.decision_log_failed` at ERROR, which
  an alert can watch).

Outcomes:
- ok: a valid answer on the first request, used as it came;
- repaired: a valid answer after the answer engine repaired it (shared/ai/answers.py)
  or after a second request corrected it (invalid answer or empty reply retried);
- refused: the model or the provider's content filter declined (finish_reason
  `content_filter`, a `refusal` message, a 400 with code `content_filter`);
  a refusal by this app before any request (budget, rate limit) is no model
  call and is not logged here;
- failed: no usable answer (provider error, timeout, invalid twice, a stream cut
  off or abandoned).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.platform.logs import log_event

if TYPE_CHECKING:
    from shared.platform.db import Conn


class Database(Protocol):
    """The part of shared/adapters/ports.Database used here (ports imports this module)."""

    def connection(self) -> AbstractAsyncContextManager[Any]: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...


Outcome = Literal["ok", "repaired", "refused", "failed"]

# Nothing is written about a candidate who asked to be erased (the erasure may have run
# while the model was answering: a row written after it would outlive it).
_INSERT = """insert into app.ai_decisions
                 (call_id, occurred_at, purpose, organisation_id, candidate_id, interview_id, model,
                  prompt_version, rubric_version, input_sha256, outcome, input_tokens, output_tokens, latency_ms)
             select %(call_id)s, %(occurred_at)s, %(purpose)s, %(organisation_id)s, %(candidate_id)s,
                    %(interview_id)s, %(model)s, %(prompt_version)s, %(rubric_version)s, %(input_sha256)s,
                    %(outcome)s, %(input_tokens)s, %(output_tokens)s, %(latency_ms)s
              where not exists (select 1 from public.data_deletion_requests d
                                 where d.user_id = %(candidate_id)s
                                   and d.request_type in ('anonymize', 'full_deletion'))"""


@dataclass(frozen=True)
class ModelCall:
    """What the AI client measured about one call (its requests together)."""

    started_at: datetime  # when the first request was sent
    purpose: str  # the client's purpose key (DEFAULT_OUTPUT_CAPS)
    prompt_version: str
    model: str
    input_sha256: str  # of the first request's input (`input_digest`)
    outcome: Outcome
    input_tokens: int | None  # the provider's usage over every request; None when it reported none
    output_tokens: int | None
    latency_ms: int


OnCall = Callable[[ModelCall], None]  # what an AI call reports to (a DecisionRecorder)


@dataclass(frozen=True)
class Concerning:
    """Whom a call concerns: the candidates (one row each), their organisation and
    interview where there is one, and the rubric version for scoring."""

    candidate_ids: Sequence[Any]
    organisation_id: Any = None
    interview_id: Any = None
    rubric_version: str | None = None


def input_digest(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
    """SHA-256 hex of the input as sent: {"messages": ..., "tools": ...} (tools only when
    sent) as compact JSON with sorted keys, UTF-8. Anyone holding the input can
    recompute it; the log cannot give the input back."""
    payload: dict[str, Any] = {"messages": messages}
    if tools:
        payload["tools"] = tools
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class DecisionRecorder:
    """Collects the ModelCalls of one piece of work (pass it as `on_call`) and writes
    them about `about`. One per request or activity: no shared state."""

    about: Concerning
    pending: list[ModelCall] = field(default_factory=list)

    def __call__(self, call: ModelCall) -> None:
        self.pending.append(call)

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for call in self.pending:
            call_id = uuid.uuid4()
            for candidate in dict.fromkeys(self.about.candidate_ids):
                rows.append(
                    {
                        "call_id": call_id,
                        "occurred_at": call.started_at,
                        "purpose": call.purpose,
                        "organisation_id": self.about.organisation_id,
                        "candidate_id": candidate,
                        "interview_id": self.about.interview_id,
                        "model": call.model,
                        "prompt_version": call.prompt_version,
                        "rubric_version": self.about.rubric_version,
                        "input_sha256": call.input_sha256,
                        "outcome": call.outcome,
                        "input_tokens": call.input_tokens,
                        "output_tokens": call.output_tokens,
                        "latency_ms": call.latency_ms,
                    }
                )
        return rows

    async def insert(self, conn: Conn) -> None:
        """Write the pending calls in the caller's transaction (raises on failure);
        call `written()` once that transaction has committed."""
        rows = self.rows()
        if rows:
            async with conn.cursor() as cur:
                await cur.executemany(_INSERT, rows)

    async def try_insert(self, conn: Conn) -> bool:
        """Write the pending calls in the caller's transaction under a savepoint: a
        failed log write is logged and leaves the caller's own writes standing.
        True when written (call `written()` after the commit)."""
        try:
            async with conn.transaction():
                await self.insert(conn)
        except Exception as exc:
            self._failed(exc)
            return False
        return True

    def written(self) -> None:
        self.pending.clear()

    async def flush(self, db: Database) -> None:
        """Write what is pending in a short transaction of its own. Never raises: a
        failure is logged (ERROR) with the calls' non-text facts."""
        if not self.pending:
            return
        try:
            async with db.transaction() as conn:
                await self.insert(conn)
        except Exception as exc:
            self._failed(exc)
            return
        self.written()

    def _failed(self, exc: Exception) -> None:
        log_event(
            "ai.decision_log_failed",
            level=logging.ERROR,
            error=type(exc).__name__,
            calls=[f"{c.purpose}:{c.outcome}:{c.input_sha256}" for c in self.pending],
            interviewId=str(self.about.interview_id) if self.about.interview_id else None,
        )


async def purge_older_than(db: Database, days: int) -> int:
    """Housekeeping (the retention timer): delete rows older than the retention period."""
    async with db.connection() as conn:
        cur = await conn.execute(
            "delete from app.ai_decisions where occurred_at < now() - make_interval(days => %s)", (days,)
        )
        return int(cur.rowcount)
