"""The embedded model's engine: llama.cpp instances of SmolLM2 and how a Chat
Completions request becomes a prompt, a grammar and an answer.

llama.cpp is not thread-safe per model instance: each request takes one of
`parallel` loaded instances (the weights are small; two let the interviewer's
reply and its competency assessment run side by side), each computing on one
thread. A request takes the free instance whose last prompt began the same way
(`Instances`): an interview's next turn then costs its new words, not the whole
conversation again.

A free-text reply ends at its first question or its fourth sentence: the app's
only free-text purpose is the interviewer's spoken turn, whose prompt asks for
two to four sentences and one question, and a model this small does not stop by
itself (it would talk until `max_tokens`, costing seconds a turn).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONTEXT_TOKENS = 8192  # SmolLM2's training context
MAX_TOKENS_TEXT = 160  # an interviewer's turn is a few sentences
MAX_TOKENS_TOOL = 2048

log = logging.getLogger("devhost.local_model")


class BadRequest(ValueError):
    pass


class ClientGone(Exception):
    """The caller closed the connection (its timeout): the answer is not wanted."""


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
        most = MAX_TOKENS_TOOL if tool else MAX_TOKENS_TEXT  # the caller's cap, never past this model's own
        max_tokens = min(int(wanted), most) if wanted else most
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
    from shared.ai.local_model import MODEL_NAME

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


def first_words(engine: Engine) -> str:
    """The self-test's few tokens: a short greedy completion. A build that cannot run
    on this CPU crashes (SIGILL, SIGSEGV) here, in a child process, not in a request."""
    answer = engine.complete(
        {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8, "temperature": 0}
    )
    text = answer["choices"][0]["message"]["content"] or ""
    if not text.strip():
        raise RuntimeError("the model loaded but generated no text")
    return text
