"""The AI model: one async client for every use (interviewer, CVs, requirements,
shortlist, scoring), over the `openai` SDK.

    ai = ai_from_settings(settings)            # NotConfigured (503) when no model is set
    answer = await ai.structured(purpose="shortlist", prompt_version=VERSION,
                                 messages=[...], schema=Ranking, tool_name="rank_candidates",
                                 tool_description="...", check=validate_ids)
    async for delta in ai.stream_text(purpose="interviewer", prompt_version=VERSION, messages=[...]): ...
    text = await ai.complete_text(purpose=..., prompt_version=..., messages=[...])
    ai.model_name, ai.scoring_model_name   # what to record as model_version

Structured answers come through a forced tool call: the tool's parameters are
the JSON schema of a pydantic model fixed in code, so nothing a candidate
writes can change the schema or its validation. The arguments are parsed into
the model and then passed to `check` (which raises ValueError for semantic
problems, e.g. an unknown id). An invalid answer is retried once with the
validation error sent back to the model; a second invalid answer is a 502.
Unvalidated output never leaves this module.

Retry policy (owned here; the SDK's own retries are off): a 5xx answer or a
dropped connection is retried once after a short pause; a timeout is not
(the time is spent), nor is a 429 (the caller gets the provider's hint).

Upstream failures map to the contract:
    402, or any `insufficient_quota` error     -> PaymentRequired (402, "Usage limit ...")
    429                                        -> RateLimited (429, "Rate limit ...", provider's retry hint)
    timeout, connection failure, 5xx, other 4xx -> UpstreamError (502)
Every call logs purpose, prompt version, model, latency, outcome and token
usage; never the messages or the answer.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, AsyncIterator, Callable, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import NotConfigured, PaymentRequired, RateLimited, UpstreamError
from shared.logs import log_event

T = TypeVar("T", bound=BaseModel)

CONNECT_TIMEOUT = 5.0
TRANSIENT_RETRY_PAUSE = 0.25
DEFAULT_RETRY_AFTER = 10  # seconds, when a 429 carries no hint
MAX_RETRY_AFTER = 3600
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
UPSTREAM_RATE_LIMITED = "Rate limit reached at the AI provider, please try again later"
INVALID_ANSWER = "The AI model returned an invalid answer"


class InvalidAnswer(ValueError):
    """The model's answer did not fit the schema or the check."""


class AIClient:
    """Chat completions with explicit timeouts and the contract's error mapping.

    `client_factory()` returns an `openai.AsyncOpenAI`-like client; it is called
    once, on first use, so building an AIClient imports nothing heavy.
    """

    def __init__(self, *, client_factory: Callable[[], Any], model: str, scoring_model: str | None = None,
                 timeout: float = 30.0):
        self._client_factory = client_factory
        self._client = None
        self._model = model
        self._scoring_model = scoring_model or model
        self.timeout = timeout

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def scoring_model_name(self) -> str:
        return self._scoring_model

    @property
    def client(self):
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- structured answers -------------------------------------------------

    async def structured(self, *, purpose: str, prompt_version: str, messages: list[dict],
                         schema: type[T], tool_name: str, tool_description: str,
                         model: str | None = None, timeout: float | None = None,
                         check: Callable[[T], None] | None = None) -> T:
        """The model's answer as a validated `schema` instance (see the module docstring)."""
        model = model or self._model
        tool = {"type": "function", "function": {"name": tool_name, "description": tool_description,
                                                 "parameters": tool_parameters(schema)}}
        conversation = list(messages)
        for attempt in (1, 2):
            completion = await self._create(purpose, prompt_version, model, timeout, attempt, messages=conversation,
                                            tools=[tool], tool_choice={"type": "function",
                                                                       "function": {"name": tool_name}})
            message = completion.choices[0].message if completion.choices else None
            try:
                return _parse_tool_answer(message, tool_name, schema, check)
            except InvalidAnswer as problem:
                log_event("ai.invalid_answer", purpose=purpose, promptVersion=prompt_version, model=model,
                          attempt=attempt, problem=str(problem)[:500])
                if attempt == 2:
                    raise UpstreamError(INVALID_ANSWER) from None
                conversation += _correction(message, tool_name, problem)
        raise AssertionError("unreachable")

    # --- free text ------------------------------------------------------------

    async def complete_text(self, *, purpose: str, prompt_version: str, messages: list[dict],
                            model: str | None = None, timeout: float | None = None) -> str:
        completion = await self._create(purpose, prompt_version, model or self._model, timeout, 1,
                                        messages=messages)
        text = (completion.choices[0].message.content or "").strip() if completion.choices else ""
        if not text:
            raise UpstreamError("The AI model returned an empty answer")
        return text

    async def stream_text(self, *, purpose: str, prompt_version: str, messages: list[dict],
                          model: str | None = None, timeout: float | None = None) -> AsyncIterator[str]:
        """Text deltas as the model produces them. `timeout` bounds the wait for the
        first and for each following chunk. Failures raise the mapped ApiError,
        also mid-stream (the caller has then already forwarded some text)."""
        model = model or self._model
        stream = await self._create(purpose, prompt_version, model, timeout, 1, messages=messages, stream=True,
                                    log=False)
        started, produced, outcome = time.perf_counter(), 0, "ok"
        try:
            async for chunk in stream:
                for choice in chunk.choices or ():  # Azure sends content-filter chunks without choices
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        produced += len(delta)
                        yield delta
        except Exception as exc:  # mid-stream read errors may arrive unwrapped from the HTTP library
            outcome = type(exc).__name__
            raise _map_error(exc) from None
        finally:
            await stream.close()
            log_event("ai.call", purpose=purpose, promptVersion=prompt_version, model=model, stream=True,
                      latencyMs=round((time.perf_counter() - started) * 1000, 1), outcome=outcome,
                      chars=produced)

    # --- one request, with the error mapping and the transient retry -------------

    async def _create(self, purpose: str, prompt_version: str, model: str, timeout: float | None,
                      attempt: int, *, log: bool = True, **request: Any):
        import openai

        limit = timeout or self.timeout
        transient_retry_left = True
        while True:
            started = time.perf_counter()
            outcome, usage = "ok", None
            try:
                async with asyncio.timeout(limit + 1):  # a hard cap over the SDK's per-read timeout
                    result = await self._post_chat(model, limit, request)
                usage = getattr(result, "usage", None)
                return result
            except (openai.OpenAIError, TimeoutError) as exc:
                outcome = type(exc).__name__
                if transient_retry_left and _is_transient(exc):
                    transient_retry_left = False
                    _log_call(purpose, prompt_version, model, started, outcome, attempt, usage)
                    await asyncio.sleep(TRANSIENT_RETRY_PAUSE)
                    continue
                raise _map_error(exc) from None
            finally:
                if log or outcome != "ok":
                    _log_call(purpose, prompt_version, model, started, outcome, attempt, usage)


    async def _post_chat(self, model: str, limit: float, request: dict):
        """POST /chat/completions with a plain JSON body through the SDK's documented
        generic `post`: the typed `chat.completions.create` re-walks every message
        against its TypedDicts first, about 4 ms of CPU per call for nothing here.
        The SDK still does auth, Azure's deployment URLs, error types and parsing."""
        import openai
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        options = {"timeout": openai.Timeout(limit, connect=min(CONNECT_TIMEOUT, limit))}
        body = {"model": model, **request}
        if request.get("stream"):
            return await self.client.post("/chat/completions", cast_to=ChatCompletion, body=body, options=options,
                                          stream=True, stream_cls=openai.AsyncStream[ChatCompletionChunk])
        return await self.client.post("/chat/completions", cast_to=ChatCompletion, body=body, options=options)


def _log_call(purpose, prompt_version, model, started, outcome, attempt, usage) -> None:
    log_event("ai.call", purpose=purpose, promptVersion=prompt_version, model=model, attempt=attempt,
              latencyMs=round((time.perf_counter() - started) * 1000, 1), outcome=outcome,
              promptTokens=getattr(usage, "prompt_tokens", None),
              completionTokens=getattr(usage, "completion_tokens", None))


# --- parsing and correcting a tool answer ------------------------------------------


@lru_cache(maxsize=64)
def tool_parameters(schema: type[BaseModel]) -> dict:
    """The tool's JSON schema, from the pydantic model alone."""
    return _without_titles(schema.model_json_schema())


def _without_titles(node: Any) -> Any:
    # Titles only repeat field names; dropping them keeps every request shorter.
    if isinstance(node, dict):
        return {key: _without_titles(value) for key, value in node.items()
                if not (key == "title" and isinstance(value, str))}
    if isinstance(node, list):
        return [_without_titles(value) for value in node]
    return node


def _parse_tool_answer(message, tool_name: str, schema: type[T], check: Callable[[T], None] | None) -> T:
    calls = [c for c in (getattr(message, "tool_calls", None) or []) if c.function.name == tool_name]
    if not calls:
        raise InvalidAnswer(f"No call to the tool {tool_name} was made")
    try:
        arguments = json.loads(calls[0].function.arguments or "")
    except ValueError as exc:
        raise InvalidAnswer(f"The tool arguments are not valid JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise InvalidAnswer("The tool arguments must be a JSON object")
    try:
        answer = schema.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False)[:20])
        raise InvalidAnswer(f"The tool arguments do not match the schema: {problems}") from None
    if check is not None:
        try:
            check(answer)
        except ValueError as exc:
            raise InvalidAnswer(str(exc)) from None
    return answer


def _correction(message, tool_name: str, problem: Exception) -> list[dict]:
    """The failed answer and the reason, so the retry can fix it."""
    instruction = f"{problem}. Call {tool_name} again with corrected arguments."
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return [
            {"role": "assistant", "content": message.content,
             "tool_calls": [{"id": c.id, "type": "function",
                             "function": {"name": c.function.name, "arguments": c.function.arguments}}
                            for c in calls]},
            *({"role": "tool", "tool_call_id": c.id, "content": instruction} for c in calls),
        ]
    return [{"role": "assistant", "content": getattr(message, "content", None) or ""},
            {"role": "user", "content": instruction}]


# --- error mapping -------------------------------------------------------------------


def _is_transient(exc: Exception) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, TimeoutError)):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _map_error(exc: Exception) -> Exception:
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


def _error_code(exc) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    return getattr(exc, "code", None) or inner.get("code") or inner.get("type")


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def retry_after_seconds(headers) -> int:
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
            durations = [sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(r))
                         for r in resets if r and _DURATION_PART.search(r)]
            seconds = max(durations) if durations else None
    except (TypeError, ValueError, OverflowError):
        seconds = None
    if seconds is None or math.isnan(seconds):
        return DEFAULT_RETRY_AFTER
    return int(min(MAX_RETRY_AFTER, max(1, math.ceil(seconds))))


# --- construction from settings --------------------------------------------------------


def ai_from_settings(settings) -> AIClient:
    """An AIClient for Azure OpenAI (when AZURE_OPENAI_ENDPOINT is set) or any
    OpenAI-compatible endpoint; NotConfigured names the missing setting."""
    timeout = settings.AI_TIMEOUT_SECONDS
    if settings.AZURE_OPENAI_ENDPOINT:
        deployment = settings.AZURE_OPENAI_DEPLOYMENT
        if not deployment:
            raise NotConfigured("The AI model is not configured: missing setting AZURE_OPENAI_DEPLOYMENT")

        def azure_client():
            import openai

            if settings.AZURE_OPENAI_API_KEY:
                credentials = {"api_key": settings.AZURE_OPENAI_API_KEY}
            else:  # managed identity (or a developer's az login)
                from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

                credentials = {"azure_ad_token_provider": get_bearer_token_provider(DefaultAzureCredential(),
                                                                                    AZURE_SCOPE)}
            return openai.AsyncAzureOpenAI(azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
                                           api_version=settings.AZURE_OPENAI_API_VERSION,
                                           max_retries=0, timeout=timeout, **credentials)

        return AIClient(client_factory=azure_client, model=deployment,
                        scoring_model=settings.AI_SCORING_MODEL or deployment, timeout=timeout)

    if not settings.AI_MODEL:
        raise NotConfigured("The AI model is not configured: missing setting AI_MODEL "
                            "(or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT)")
    if not settings.AI_API_KEY:
        raise NotConfigured("The AI model is not configured: missing setting AI_API_KEY")

    def openai_client():
        import openai

        return openai.AsyncOpenAI(api_key=settings.AI_API_KEY, base_url=settings.AI_BASE_URL or None,
                                  max_retries=0, timeout=timeout)

    return AIClient(client_factory=openai_client, model=settings.AI_MODEL,
                    scoring_model=settings.AI_SCORING_MODEL or settings.AI_MODEL, timeout=timeout)
