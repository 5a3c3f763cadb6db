"""OpenAI-compatible Chat Completions double (OpenAI and Azure OpenAI URL forms).

Routes:
  POST /v1/chat/completions                                        (OpenAI)
  POST /openai/deployments/{deployment}/chat/completions?api-version=...  (Azure)
  POST /openai/v1/chat/completions                                 (Azure v1 API)

Point the SDKs at it:
  openai.AsyncOpenAI(base_url=double.url + "/v1", api_key="x", max_retries=0)
  openai.AsyncAzureOpenAI(azure_endpoint=double.url, api_version="2024-10-21",
                          api_key="x", max_retries=0)

``ScriptedReply.delay`` stalls before answering (time to first token, or a model
past its timeout); ``chunk_interval`` paces a stream's writes; ``burst`` sends
that many SSE events per write (a backlog arriving at once).

Answers come from a FIFO of scripted replies (``push_text``, ``push_tool_call``,
``push``); when it is empty ``default_responder(request_json)`` is asked, and
without one the double answers 500 so a missing script fails loudly.
``stream: true`` requests get SSE ``chat.completion.chunk`` events.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import RecordedRequest, Reply, ServiceDouble, json_reply

_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
_CHAT_PATHS = {"/v1/chat/completions", "/openai/v1/chat/completions"}


@dataclass
class ToolCall:
    name: str
    arguments: str  # sent verbatim, so it may be deliberately malformed JSON
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class ScriptedReply:
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None  # default: "tool_calls" if any, else "stop"
    delay: float = 0.0  # stall this long before answering
    chunk_interval: float = 0.0  # stream: pause between writes, as a model producing tokens does
    burst: int = 1  # stream: SSE events sent together in one write
    chunks: int = 4  # stream: split content / each tool's arguments into this many deltas
    # Drop the connection after N SSE events (non-stream requests: before answering).
    break_after_chunks: int | None = None
    model: str | None = None  # default: echo the request's model

    def __post_init__(self) -> None:
        if self.finish_reason is None:
            self.finish_reason = "tool_calls" if self.tool_calls else "stop"


def text_reply(content: str, **options: Any) -> ScriptedReply:
    return ScriptedReply(content=content, **options)


def tool_call_reply(name: str, arguments: Any, *, content: str | None = None, **options: Any) -> ScriptedReply:
    """``arguments``: a dict (JSON-encoded here) or a str sent as is (may be malformed)."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return ScriptedReply(content=content, tool_calls=[ToolCall(name, arguments)], **options)


Responder = Callable[[dict], "ScriptedReply | str"]


class OpenAIDouble(ServiceDouble):
    def __init__(self, api_key: str | None = None, default_responder: Responder | None = None) -> None:
        """``api_key``: when set, the Bearer token / ``api-key`` header must equal it
        (otherwise any non-empty key is accepted)."""
        super().__init__()
        self.api_key = api_key
        self.default_responder = default_responder
        self._script: deque[ScriptedReply] = deque()

    # -- scripting -------------------------------------------------------------

    def push(self, *replies: ScriptedReply | str) -> None:
        with self._lock:
            self._script.extend(r if isinstance(r, ScriptedReply) else text_reply(r) for r in replies)

    def push_text(self, content: str, **options: Any) -> None:
        self.push(text_reply(content, **options))

    def push_tool_call(self, name: str, arguments: Any, **options: Any) -> None:
        self.push(tool_call_reply(name, arguments, **options))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def fail_insufficient_credits(self, times: int = 1) -> None:
        self.fail_next(402, times=times)

    def fail_rate_limited(self, retry_after: float = 1, times: int = 1) -> None:
        self.fail_next(429, headers={"retry-after": str(retry_after)}, times=times)

    def fail_server_error(self, times: int = 1) -> None:
        self.fail_next(500, times=times)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._script.clear()

    @property
    def chat_requests(self) -> list[dict]:
        """The JSON bodies of every chat completion request, oldest first."""
        return [r.json for r in self.requests if r.path.endswith("/chat/completions")]

    def error_body(self, status: int, path: str) -> Any:
        if status == 402:
            return {
                "error": {
                    "message": "insufficient credits",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            }
        if status == 429:
            return {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
        return {
            "error": {
                "message": f"The server had an error ({status})",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }

    # -- protocol --------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        azure = _AZURE_DEPLOYMENT.match(request.path)
        known = request.path in _CHAT_PATHS or (azure and "api-version" in request.query)
        if request.method != "POST" or not known:  # Azure answers 404 without api-version too
            return _error(404, "Resource not found", "invalid_request_error", "404")
        key = request.headers.get("api-key") or _bearer(request.headers.get("authorization", ""))
        if not key or (self.api_key is not None and key != self.api_key):
            return _error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is a required property", "invalid_request_error", None)

        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is None and self.default_responder is not None:
            scripted = self.default_responder(body)
            if isinstance(scripted, str):
                scripted = text_reply(scripted)
        if scripted is None:
            return _error(500, "openai double: no scripted reply queued and no default_responder", "server_error", None)

        model = scripted.model or body.get("model") or (azure.group(1) if azure else "gpt-test")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return Reply(
                200,
                headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"},
                stream=_paced(_sse(scripted, model, include_usage), scripted, self.sleep),
                abort_stream=scripted.break_after_chunks is not None,
                delay=scripted.delay,
            )
        if scripted.break_after_chunks is not None:
            return Reply(drop=True, delay=scripted.delay)
        reply = json_reply(200, _completion(scripted, model), {"x-request-id": _id("req")})
        reply.delay = scripted.delay
        return reply


def _sse(reply: ScriptedReply, model: str, include_usage: bool) -> Iterator[bytes]:
    events = list(_chunks(reply, model, include_usage))
    if reply.break_after_chunks is not None:
        events = events[: reply.break_after_chunks]
    for event in events:
        yield b"data: " + json.dumps(event).encode() + b"\n\n"
    if reply.break_after_chunks is None:
        yield b"data: [DONE]\n\n"


def _paced(events: Iterator[bytes], reply: ScriptedReply, sleep: Callable[[float], None]) -> Iterator[bytes]:
    pending = list(events)
    size = max(1, reply.burst)
    for start in range(0, len(pending), size):
        if start and reply.chunk_interval > 0:
            sleep(reply.chunk_interval)
        yield b"".join(pending[start : start + size])


def _completion(reply: ScriptedReply, model: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_double",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": _usage(reply),
    }


def _chunks(reply: ScriptedReply, model: str, include_usage: bool) -> Iterator[dict]:
    base = {
        "id": _id("chatcmpl"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_double",
    }

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in _split(reply.content or "", reply.chunks):
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        # The first delta names the tool; the arguments then arrive in pieces.
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
        )
        for piece in _split(call.arguments, reply.chunks):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(reply)}


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(reply: ScriptedReply) -> dict:
    produced = len(reply.content or "") + sum(len(c.arguments) for c in reply.tool_calls)
    completion = max(1, produced // 4)
    return {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion}


def _error(status: int, message: str, type_: str, code: str | None) -> Reply:
    return json_reply(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"
