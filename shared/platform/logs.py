"""Structured JSON logs. One line per event; never tokens or CV text.

Every record emitted while a request is handled carries its id: `serve`
(shared/platform/http.py) sets `request_id` for the request's task, each JSON
line gets a `requestId` field, and every `logging` record (the SDKs' too) gets
`requestId` and, when telemetry is on, `traceId` attributes, so a line can be
found from the `x-request-id` an error body shows and joined to its trace.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace

logger = logging.getLogger("talenti")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_trace_id() -> str | None:
    """The current span's trace id in hex (None when telemetry is off: no span is recorded)."""
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if not logger.isEnabledFor(level):  # no JSON built for a line nobody reads
        return
    record = {"event": event, "ts": round(time.time(), 3), **fields}
    given = request_id.get()
    if given is not None:
        record.setdefault("requestId", given)
    trace_id = current_trace_id()
    if trace_id is not None:
        record.setdefault("traceId", trace_id)
    logger.log(level, json.dumps(record, default=str, separators=(",", ":")))


_base_factory = logging.getLogRecordFactory()


def _record_with_ids(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.requestId = request_id.get()
    record.traceId = current_trace_id()
    return record


# A record factory rather than a filter: filters see only records logged on their own logger,
# and the host owns the handlers.
if getattr(_base_factory, "__name__", "") != _record_with_ids.__name__:
    logging.setLogRecordFactory(_record_with_ids)
