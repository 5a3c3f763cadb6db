"""The AI model: one async client for every use (interviewer, CVs, requirements,
shortlist, scoring), over the `openai` SDK.

    ai = ai_from_settings(settings)            # NotConfigured (503) when no model is set
    answer = await ai.structured(purpose="shortlist", prompt_version=VERSION,
                                 messages=[...], schema=Ranking, tool_name="rank_candidates",
                                 tool_description="...", vocabularies={"applicants": ids},
                                 check=every_id_once)
    async for delta in ai.stream_text(purpose="interviewer", prompt_version=VERSION, messages=[...]): ...
    text = await ai.complete_text(purpose=..., prompt_version=..., messages=[...])
    ai.model_name, ai.scoring_model_name   # what to record as model_version

Structured answers come through a forced tool call (`strict: true`): the
tool's parameters come from a pydantic answer model fixed in code (see
shared/ai/answers.py), with the call's closed vocabularies as `enum`, so
nothing a candidate writes can change the schema's shape or its validation
(a vocabulary only lists values the service has checked). The
answer is read (a fence, prose around the JSON, arguments written as the
message), repaired where that is safe (each repair logged as `ai.repaired`),
validated into the model and passed to `check` (which raises ValueError for
semantic problems, e.g. a rubric dimension missing). An answer whose
essentials are missing or invalid is retried once with the problems sent back
to the model; a second one is a 502. A provider that refuses strict mode (a
400 about the schema or `strict`) is asked again without it, and this client
stops sending it. Unvalidated output never leaves this module.

A reply with no text (`complete_text`, `stream_text` before any delta) is
asked for once more, then is a 502.

Retry policy (owned here; the SDK's own retries are off): a 5xx answer or a
dropped connection is retried once after a short pause; a timeout is not
(the time is spent), nor is a 429 (the caller gets the provider's hint).

Upstream failures map to the contract:
    402, or any `insufficient_quota` error     -> PaymentRequired (402, "Usage limit ...")
    429                                        -> RateLimited (429, "Rate limit ...", provider's retry hint)
    timeout, connection failure, 5xx, other 4xx -> UpstreamError (502)
Every call logs purpose, prompt version, model, latency, outcome and token
usage; never the messages or the answer. A caller that passes `on_call` also
gets the call's facts as one `ModelCall` (shared/platform/decision_log.py: the
AI decision log), whatever the outcome, once the call is over (a stream: once
it ends, fails or is closed); a call refused before any request is sent (the
model unavailable) is no call and reports nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from pydantic import BaseModel

from shared.ai.answers import AnswerRejected, Repair, Vocabularies, judge, prepared, read_arguments
from shared.platform import telemetry
from shared.platform.decision_log import ModelCall, OnCall, Outcome, input_digest
from shared.platform.errors import ApiError, NotConfigured, PaymentRequired, RateLimited, UpstreamError
from shared.platform.logs import log_event

if TYPE_CHECKING:
    from openai import APIStatusError, AsyncOpenAI, AsyncStream
    from openai.types import CompletionUsage
    from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage

    from shared.platform.config import Settings

T = TypeVar("T", bound=BaseModel)

CONNECT_TIMEOUT = 5.0
TRANSIENT_RETRY_PAUSE = 0.25
DEFAULT_RETRY_AFTER = 10  # seconds, when a 429 carries no hint
MAX_RETRY_AFTER = 3600
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
UPSTREAM_RATE_LIMITED = "Rate limit reached at the AI provider, please try again later"
INVALID_ANSWER = "The AI model returned an invalid answer"
MAX_REPAIR_LOGS = 20  # per answer; the rest are counted in one more line
# Every call carries an output cap (`max_completion_tokens`): what one answer of each
# purpose needs with room to spare, so no request can make the model write (and the
# account pay for) an essay. AI_MAX_OUTPUT_TOKENS overrides them by purpose.
DEFAULT_OUTPUT_CAPS = {
    "interviewer": 400,  # two to four spoken sentences
    "interviewer.competencies": 200,
    "extract_requirements": 2_000,
    "parse_resume": 4_000,
    "score": 4_000,
    "shortlist": 4_000,
}
FALLBACK_OUTPUT_CAP = 1_000  # a purpose not listed above


class _StrictRefused(Exception):
    """The provider refused the strict tool schema (400 naming `strict` or the schema)."""


class _StreamUsageRefused(Exception):
    """The provider refused `stream_options` (an older Azure API version: 400 "Unknown parameter")."""


class _Meter:
    """One call's facts over its requests (a correction, a transient retry), for `on_call`."""

    def __init__(self, on_call: OnCall | None, purpose: str, prompt_version: str, model: str):
        self._on_call = on_call
        self.purpose, self.prompt_version, self.model = purpose, prompt_version, model
        self.started_at = datetime.now(UTC)
        self.started = time.perf_counter()
        self.digest: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.refused = False  # the model or its content filter declined at least once
        self.throttled = False  # the provider answered 429 at least once (measured as rate_limited)
        self.attempts = 1
        # Whom the call is for, when the caller records decisions about an organisation's candidates.
        self.organisation = getattr(getattr(on_call, "about", None), "organisation_id", None)
        self.span: Span | None = telemetry.tracer.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "talenti.ai.purpose": purpose},
        )

    def sent(self, request: dict[str, Any]) -> None:
        if self.digest is None:  # the first request's input: what the call was asked
            self.digest = input_digest(request["messages"], request.get("tools"))

    def used(self, usage: CompletionUsage | None) -> None:
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        if isinstance(prompt, int):
            self.input_tokens = (self.input_tokens or 0) + prompt
        if isinstance(completion, int):
            self.output_tokens = (self.output_tokens or 0) + completion

    def saw(self, finish_reason: str | None, refusal: str | None = None) -> None:
        if finish_reason == "content_filter" or refusal:
            self.refused = True

    def done(self, outcome: Outcome) -> None:
        """Report once; nothing when no request was sent."""
        if outcome == "failed" and self.refused:
            outcome = "refused"
        self._measured(outcome)
        on_call, self._on_call = self._on_call, None
        if on_call is None or self.digest is None:
            return
        on_call(
            ModelCall(
                started_at=self.started_at,
                purpose=self.purpose,
                prompt_version=self.prompt_version,
                model=self.model,
                input_sha256=self.digest,
                outcome=outcome,
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                latency_ms=round((time.perf_counter() - self.started) * 1000),
            )
        )

    def current(self) -> contextlib.AbstractContextManager[Any]:
        """The call's span as the current one: its HTTP requests to the provider become its children."""
        if self.span is None:
            return contextlib.nullcontext()
        return trace.use_span(self.span, end_on_exit=False)

    def _measured(self, outcome: str) -> None:
        """The call's span ends; its duration and tokens are measured (no request sent: no call)."""
        span, self.span = self.span, None
        if span is None:
            return
        if self.digest is not None:
            # A call that failed on the provider's 429 is measured as rate_limited (the model-429
            # alert and the workbook read it); the decision log keeps its four outcomes.
            measured = "rate_limited" if outcome == "failed" and self.throttled else outcome
            attributes = {"purpose": self.purpose, "model": self.model, "outcome": measured}
            telemetry.ai_call_duration.record((time.perf_counter() - self.started) * 1000, attributes)
            for kind, tokens in (("input", self.input_tokens), ("output", self.output_tokens)):
                if tokens:
                    counted = {"purpose": self.purpose, "model": self.model, "token_type": kind}
                    if self.organisation is not None:
                        counted["organisation"] = str(self.organisation)
                    telemetry.ai_tokens.add(tokens, counted)
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": self.input_tokens or 0,
                    "gen_ai.usage.output_tokens": self.output_tokens or 0,
                    "talenti.ai.outcome": outcome,
                    "talenti.ai.attempts": self.attempts,
                }
            )
        if outcome in ("failed", "refused"):
            span.set_status(StatusCode.ERROR)
        span.end()


class AIClient:
    """Chat completions with explicit timeouts and the contract's error mapping.

    `client_factory()` returns an `openai.AsyncOpenAI`-like client; it is called
    once, on first use, so building an AIClient imports nothing heavy.
    """

    def __init__(
        self,
        *,
        client_factory: Callable[[], AsyncOpenAI],
        model: str,
        scoring_model: str | None = None,
        timeout: float = 30.0,
        strict_tools: bool = True,
        unavailable: Callable[[], ApiError | None] | None = None,
        output_caps: dict[str, int] | None = None,
        stream_usage: bool = True,
    ):
        """`strict_tools=False` sends no `strict` flag and keeps every length and range
        keyword in the schema (for a local server that builds a grammar from it).
        `unavailable()` returns the error for a model that cannot answer now (the
        embedded model while it is prepared, restarted or unusable): it is raised
        before a call, and instead of the 502 for a connection that failed."""
        self._client_factory = client_factory
        self._client: AsyncOpenAI | None = None
        self._model = model
        self._scoring_model = scoring_model or model
        self.timeout = timeout
        self.strict_tools = strict_tools
        self._unavailable = unavailable or (lambda: None)
        self.output_caps = {**DEFAULT_OUTPUT_CAPS, **(output_caps or {})}
        # Ask for the usage chunk at a stream's end (`stream_options.include_usage`), so
        # streamed calls have token counts too; off for a server that may not know it.
        self.stream_usage = stream_usage

    def output_cap(self, purpose: str) -> int:
        return self.output_caps.get(purpose, FALLBACK_OUTPUT_CAP)

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def scoring_model_name(self) -> str:
        return self._scoring_model

    @property
    def client(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- structured answers -------------------------------------------------

    async def structured(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        schema: type[T],
        tool_name: str,
        tool_description: str,
        model: str | None = None,
        timeout: float | None = None,
        check: Callable[[T], None] | None = None,
        vocabularies: Vocabularies | None = None,
        on_call: OnCall | None = None,
    ) -> T:
        """The model's answer as a validated `schema` instance (see the module docstring).
        `vocabularies` fills the answer model's Vocabulary(...) fields for this call."""
        model = model or self._model
        meter = _Meter(on_call, purpose, prompt_version, model)
        try:
            with meter.current():
                answer, repaired = await self._structured(
                    meter, purpose, prompt_version, messages, schema, tool_name, tool_description, model, timeout,
                    check, vocabularies,
                )  # fmt: skip
        except BaseException:
            meter.done("failed")
            raise
        meter.done("repaired" if repaired else "ok")
        return answer

    async def _structured(
        self,
        meter: _Meter,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        schema: type[T],
        tool_name: str,
        tool_description: str,
        model: str,
        timeout: float | None,
        check: Callable[[T], None] | None,
        vocabularies: Vocabularies | None,
    ) -> tuple[T, bool]:
        """The answer, and whether it was repaired or corrected on the way."""
        conversation = list(messages)
        attempt = 1
        while True:
            strict = self.strict_tools
            spec, parameters = prepared(schema, vocabularies, strict=strict)
            function: dict[str, Any] = {"name": tool_name, "description": tool_description, "parameters": parameters}
            if strict:
                function["strict"] = True
            try:
                completion = await self._create(
                    purpose,
                    prompt_version,
                    model,
                    timeout,
                    attempt,
                    meter=meter,
                    messages=conversation,
                    tools=[{"type": "function", "function": function}],
                    tool_choice={"type": "function", "function": {"name": tool_name}},
                )
            except _StrictRefused:
                self.strict_tools = False
                log_event("ai.strict_refused", level=logging.WARNING, purpose=purpose, model=model)
                continue
            message = completion.choices[0].message if completion.choices else None
            if completion.choices:
                meter.saw(completion.choices[0].finish_reason, getattr(message, "refusal", None))
            try:
                answer, repairs = _read_answer(message, tool_name, schema, spec, check)
            except AnswerRejected as problem:
                log_event(
                    "ai.invalid_answer",
                    purpose=purpose,
                    promptVersion=prompt_version,
                    model=model,
                    attempt=attempt,
                    problem=str(problem)[:500],
                )
                if attempt == 2:
                    raise UpstreamError(INVALID_ANSWER) from None
                conversation += _correction(message, tool_name, problem)
                attempt += 1
                continue
            _log_repairs(repairs, purpose=purpose, promptVersion=prompt_version, model=model, attempt=attempt)
            return answer, bool(repairs) or attempt > 1

    # --- free text ------------------------------------------------------------

    async def complete_text(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str | None = None,
        timeout: float | None = None,
        on_call: OnCall | None = None,
    ) -> str:
        model = model or self._model
        meter = _Meter(on_call, purpose, prompt_version, model)
        try:
            with meter.current():
                text, attempt = await self._complete_text(meter, purpose, prompt_version, messages, model, timeout)
        except BaseException:
            meter.done("failed")
            raise
        meter.done("ok" if attempt == 1 else "repaired")
        return text

    async def _complete_text(
        self,
        meter: _Meter,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str,
        timeout: float | None,
    ) -> tuple[str, int]:
        for attempt in (1, 2):
            completion = await self._create(
                purpose, prompt_version, model, timeout, attempt, meter=meter, messages=messages
            )
            if completion.choices:
                choice = completion.choices[0]
                meter.saw(choice.finish_reason, getattr(choice.message, "refusal", None))
            text = (completion.choices[0].message.content or "").strip() if completion.choices else ""
            if text:
                return text, attempt
            log_event(
                "ai.invalid_answer",
                purpose=purpose,
                promptVersion=prompt_version,
                model=model,
                attempt=attempt,
                problem="empty reply",
            )
        raise UpstreamError("The AI model returned an empty answer")

    async def stream_text(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str | None = None,
        timeout: float | None = None,
        on_call: OnCall | None = None,
    ) -> AsyncGenerator[str, None]:
        """Text deltas as the model produces them. `timeout` bounds the wait for the
        first and for each following chunk. Failures raise the mapped ApiError,
        also mid-stream (the caller has then already forwarded some text). A
        stream that ends without any text is asked for once more. `on_call` hears
        of the call when the stream ends, fails or is closed early (then `failed`)."""
        model = model or self._model
        meter = _Meter(on_call, purpose, prompt_version, model)
        outcome: Outcome = "failed"
        try:
            # aclosing: a caller that stops reading closes the model stream now, not at GC
            async with contextlib.aclosing(
                self._stream_text(meter, purpose, prompt_version, messages, model, timeout)
            ) as deltas:
                got_text = False
                async for delta in deltas:
                    got_text = True
                    yield delta
            if got_text:
                outcome = "ok" if meter.attempts == 1 else "repaired"
        finally:
            meter.done(outcome)

    async def _stream_text(
        self,
        meter: _Meter,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str,
        timeout: float | None,
    ) -> AsyncGenerator[str, None]:
        for attempt in (1, 2):
            meter.attempts = attempt
            try:
                stream = await self._open_stream(meter, purpose, prompt_version, messages, model, timeout, attempt)
            except _StreamUsageRefused:  # asked again without it; this client stops sending it
                self.stream_usage = False
                log_event("ai.stream_usage_refused", level=logging.WARNING, purpose=purpose, model=model)
                stream = await self._open_stream(meter, purpose, prompt_version, messages, model, timeout, attempt)
            started, produced, outcome = time.perf_counter(), 0, "ok"
            try:
                async for chunk in stream:
                    meter.used(getattr(chunk, "usage", None))
                    for choice in chunk.choices or ():  # Azure sends content-filter chunks without choices
                        meter.saw(choice.finish_reason)
                        delta = choice.delta.content if choice.delta else None
                        if delta:
                            produced += len(delta)
                            yield delta
            except Exception as exc:  # mid-stream read errors may arrive unwrapped from the HTTP library
                outcome = type(exc).__name__
                raise self._map_error(exc) from None
            finally:
                await stream.close()
                log_event(
                    "ai.call",
                    purpose=purpose,
                    promptVersion=prompt_version,
                    model=model,
                    stream=True,
                    attempt=attempt,
                    latencyMs=round((time.perf_counter() - started) * 1000, 1),
                    outcome=outcome,
                    chars=produced,
                )
            if produced:
                return
            log_event(
                "ai.invalid_answer",
                purpose=purpose,
                promptVersion=prompt_version,
                model=model,
                attempt=attempt,
                problem="empty reply",
            )

    async def _open_stream(
        self,
        meter: _Meter,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str,
        timeout: float | None,
        attempt: int,
    ) -> AsyncStream[ChatCompletionChunk]:
        extra = {"stream_options": {"include_usage": True}} if self.stream_usage else {}
        return await self._create(
            purpose,
            prompt_version,
            model,
            timeout,
            attempt,
            meter=meter,
            messages=messages,
            stream=True,
            log=False,
            **extra,
        )

    # --- one request, with the error mapping and the transient retry -------------

    @overload
    async def _create(
        self,
        purpose: str,
        prompt_version: str,
        model: str,
        timeout: float | None,
        attempt: int,
        *,
        stream: Literal[True],
        log: bool = True,
        meter: _Meter | None = None,
        **request: Any,
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def _create(
        self,
        purpose: str,
        prompt_version: str,
        model: str,
        timeout: float | None,
        attempt: int,
        *,
        log: bool = True,
        meter: _Meter | None = None,
        **request: Any,
    ) -> ChatCompletion: ...

    async def _create(
        self,
        purpose: str,
        prompt_version: str,
        model: str,
        timeout: float | None,
        attempt: int,
        *,
        log: bool = True,
        meter: _Meter | None = None,
        **request: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        import openai

        if down := self._unavailable():
            raise down
        request["max_completion_tokens"] = self.output_cap(purpose)
        limit = timeout or self.timeout
        transient_retry_left = True
        while True:
            started = time.perf_counter()
            outcome, usage = "ok", None
            if meter is not None:
                meter.sent(request)
            try:
                async with asyncio.timeout(limit + 1):  # a hard cap over the SDK's per-read timeout
                    result = await self._post_chat(model, limit, request)
                usage = getattr(result, "usage", None)
                if meter is not None:
                    meter.used(usage)
                return result
            except (openai.OpenAIError, TimeoutError) as exc:
                outcome = type(exc).__name__
                if meter is not None and _is_content_filter(exc):
                    meter.refused = True
                if meter is not None and getattr(exc, "status_code", None) == 429:
                    meter.throttled = True
                if transient_retry_left and _is_transient(exc):
                    transient_retry_left = False
                    _log_call(purpose, prompt_version, model, started, outcome, attempt, usage)
                    await asyncio.sleep(TRANSIENT_RETRY_PAUSE)
                    continue
                if _refuses_strict(exc, request):
                    raise _StrictRefused() from None
                if _refuses_stream_options(exc, request):
                    raise _StreamUsageRefused() from None
                raise self._map_error(exc) from None
            finally:
                if log or outcome != "ok":
                    _log_call(purpose, prompt_version, model, started, outcome, attempt, usage)

    def _map_error(self, exc: Exception) -> ApiError:
        """The contract's error, unless the model is known to be down (then its 503)."""
        return self._unavailable() or _map_error(exc)

    async def _post_chat(
        self, model: str, limit: float, request: dict[str, Any]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """POST /chat/completions with a plain JSON body through the SDK's documented
        generic `post`: the typed `chat.completions.create` re-walks every message
        against its TypedDicts first, about 4 ms of CPU per call for nothing here.
        The SDK still does auth, Azure's deployment URLs, error types and parsing."""
        import openai
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        options: openai.RequestOptions = {"timeout": openai.Timeout(limit, connect=min(CONNECT_TIMEOUT, limit))}
        body = {"model": model, **request}
        if request.get("stream"):
            return await self.client.post(
                "/chat/completions",
                cast_to=ChatCompletion,
                body=body,
                options=options,
                stream=True,
                stream_cls=openai.AsyncStream[ChatCompletionChunk],
            )
        return await self.client.post("/chat/completions", cast_to=ChatCompletion, body=body, options=options)


def _log_call(
    purpose: str,
    prompt_version: str,
    model: str,
    started: float,
    outcome: str,
    attempt: int,
    usage: CompletionUsage | None,
) -> None:
    log_event(
        "ai.call",
        purpose=purpose,
        promptVersion=prompt_version,
        model=model,
        attempt=attempt,
        latencyMs=round((time.perf_counter() - started) * 1000, 1),
        outcome=outcome,
        promptTokens=getattr(usage, "prompt_tokens", None),
        completionTokens=getattr(usage, "completion_tokens", None),
    )


# --- reading and correcting a tool answer -------------------------------------------


def _read_answer(
    message: ChatCompletionMessage | None,
    tool_name: str,
    schema: type[T],
    spec: dict[str, Any],
    check: Callable[[T], None] | None,
) -> tuple[T, list[Repair]]:
    calls = [
        (call.function.name, call.function.arguments)
        for call in (getattr(message, "tool_calls", None) or [])
        if getattr(call, "function", None)
    ]
    raw, repairs = read_arguments(tool_name, calls, getattr(message, "content", None), spec.get("properties", {}))
    answer, more = judge(schema, spec, raw)
    if check is not None:
        try:
            check(answer)
        except ValueError as exc:
            raise AnswerRejected(str(exc)) from None
    return answer, repairs + more


def _log_repairs(repairs: list[Repair], **where: Any) -> None:
    for repair in repairs[:MAX_REPAIR_LOGS]:
        log_event("ai.repaired", **where, field=repair.field, action=repair.action)
    if len(repairs) > MAX_REPAIR_LOGS:
        log_event(
            "ai.repaired",
            **where,
            field="(answer)",
            action=f"{len(repairs) - MAX_REPAIR_LOGS} more repairs not logged one by one",
        )


def _correction(message: ChatCompletionMessage | None, tool_name: str, problem: Exception) -> list[dict[str, Any]]:
    """The failed answer and the reason, so the retry can fix it."""
    instruction = f"{problem}. Call {tool_name} again with corrected arguments."
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        assert message is not None  # the calls are the message's
        return [
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ],
            },
            *({"role": "tool", "tool_call_id": c.id, "content": instruction} for c in calls),
        ]
    return [
        {"role": "assistant", "content": getattr(message, "content", None) or ""},
        {"role": "user", "content": instruction},
    ]


# --- error mapping -------------------------------------------------------------------


def _refuses_strict(exc: Exception, request: dict[str, Any]) -> bool:
    import openai

    strict = any(tool.get("function", {}).get("strict") for tool in request.get("tools") or ())
    if not strict or not isinstance(exc, openai.APIStatusError) or exc.status_code != 400:
        return False
    text = str(exc).lower()
    return "strict" in text or "schema" in text


def _refuses_stream_options(exc: Exception, request: dict[str, Any]) -> bool:
    import openai

    if "stream_options" not in request or not isinstance(exc, openai.APIStatusError) or exc.status_code != 400:
        return False
    return "stream_options" in str(exc)


def _is_content_filter(exc: Exception) -> bool:
    """Azure OpenAI answers a prompt its filter blocks with a 400 coded content_filter."""
    import openai

    return isinstance(exc, openai.APIStatusError) and _error_code(exc) == "content_filter"


def _is_transient(exc: Exception) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, TimeoutError)):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _map_error(exc: Exception) -> ApiError:
    import openai

    if isinstance(exc, (openai.APITimeoutError, TimeoutError)):
        return UpstreamError("The AI model did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError("The AI model could not be reached")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 402 or _error_code(exc) == "insufficient_quota":
            return PaymentRequired()
        if exc.status_code == 429:
            return RateLimited(retry_after_seconds(exc.response.headers), UPSTREAM_RATE_LIMITED)
        return UpstreamError(f"The AI model failed (status {exc.status_code})")
    return UpstreamError("The AI model returned an unreadable answer")


def _error_code(exc: APIStatusError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    inner = error if isinstance(error, dict) else body
    return getattr(exc, "code", None) or inner.get("code") or inner.get("type")


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def retry_after_seconds(headers: Mapping[str, str]) -> int:
    """Whole seconds to wait, from the provider's hints: `retry-after-ms`,
    `retry-after` (seconds or an HTTP date), else OpenAI's `x-ratelimit-reset-*`
    durations such as `6m0s` or `20ms`."""
    seconds: float | None = None
    try:
        if headers.get("retry-after-ms"):
            seconds = float(headers["retry-after-ms"]) / 1000
        elif headers.get("retry-after"):
            value = headers["retry-after"].strip()
            try:
                seconds = float(value)
            except ValueError:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
        else:
            resets = [headers.get(name) for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")]
            durations = [
                sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(r))
                for r in resets
                if r and _DURATION_PART.search(r)
            ]
            seconds = max(durations) if durations else None
    except (TypeError, ValueError, OverflowError):
        seconds = None
    if seconds is None or math.isnan(seconds):
        return DEFAULT_RETRY_AFTER
    return int(min(MAX_RETRY_AFTER, max(1, math.ceil(seconds))))


# --- construction from settings --------------------------------------------------------


def ai_from_settings(settings: Settings) -> AIClient:
    """An AIClient for the provider AI_PROVIDER names (see Settings.ai_provider): Azure
    OpenAI, any OpenAI-compatible endpoint, or the embedded development model's
    OpenAI-compatible server (LOCAL_MODEL_URL, started by the local host).
    NotConfigured names the missing setting, or how to install the local model."""
    timeout = settings.AI_TIMEOUT_SECONDS
    provider = settings.ai_provider
    if provider == "local":
        from shared.ai import local_model

        base_url = settings.LOCAL_MODEL_URL
        if not base_url:
            raise NotConfigured(local_model.unavailable_message())
        timeout = max(timeout, local_model.MIN_TIMEOUT_SECONDS)

        def local_client() -> AsyncOpenAI:
            import openai

            return openai.AsyncOpenAI(api_key="local", base_url=base_url, max_retries=0, timeout=timeout)

        # No `strict` flag: the server builds a grammar from the whole schema, lengths included.
        return AIClient(
            client_factory=local_client,
            model=local_model.MODEL_NAME,
            timeout=timeout,
            strict_tools=False,
            stream_usage=False,
            unavailable=local_model.problem,
            output_caps=settings.ai_output_caps(),
        )

    if provider == "azure":
        endpoint = settings.AZURE_OPENAI_ENDPOINT
        if not endpoint:
            raise NotConfigured("The AI model is not configured: missing setting AZURE_OPENAI_ENDPOINT")
        deployment = settings.AZURE_OPENAI_DEPLOYMENT
        if not deployment:
            raise NotConfigured("The AI model is not configured: missing setting AZURE_OPENAI_DEPLOYMENT")

        def azure_client() -> AsyncOpenAI:
            import openai

            credentials: dict[str, Any]
            if settings.AZURE_OPENAI_API_KEY:
                credentials = {"api_key": settings.AZURE_OPENAI_API_KEY}
            else:  # managed identity (or a developer's az login)
                from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

                credentials = {
                    "azure_ad_token_provider": get_bearer_token_provider(DefaultAzureCredential(), AZURE_SCOPE)
                }
            return openai.AsyncAzureOpenAI(
                azure_endpoint=endpoint,
                api_version=settings.AZURE_OPENAI_API_VERSION,
                max_retries=0,
                timeout=timeout,
                **credentials,
            )

        return AIClient(
            client_factory=azure_client,
            model=deployment,
            scoring_model=settings.AI_SCORING_MODEL or deployment,
            timeout=timeout,
            output_caps=settings.ai_output_caps(),
        )

    if not settings.AI_MODEL:
        raise NotConfigured(
            "The AI model is not configured: missing setting AI_MODEL "
            "(or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT)"
        )
    if not settings.AI_API_KEY:
        raise NotConfigured("The AI model is not configured: missing setting AI_API_KEY")

    def openai_client() -> AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(
            api_key=settings.AI_API_KEY, base_url=settings.AI_BASE_URL or None, max_retries=0, timeout=timeout
        )

    return AIClient(
        client_factory=openai_client,
        model=settings.AI_MODEL,
        scoring_model=settings.AI_SCORING_MODEL or settings.AI_MODEL,
        timeout=timeout,
        output_caps=settings.ai_output_caps(),
    )
