"""The embedded model's HTTP server (devhost/local_model/server.py) on loopback: its
answers while loading, after a failed load and to bad requests, and, with the
installed model (SmolLM2 on the CPU, a small context to keep it quick), real
completions, tool calls under a grammar, streams and clients that leave."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devhost.local_model import engine, server
from shared.ai import local_model as adapter

pytestmark = pytest.mark.io

TOOL = {
    "name": "record",
    "description": "Record a verdict",
    "parameters": {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["hire", "reject"]},
            "reason": {"type": "string", "minLength": 60},
        },
        "required": ["verdict", "reason"],
    },
}
FORCED = {"type": "function", "function": {"name": "record"}}


@contextmanager
def serving(loading: server.Loading) -> Iterator[int]:
    httpd = server.ThreadingHTTPServer(("127.0.0.1", 0), server.make_handler(loading))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), response.read()
    finally:
        connection.close()


def post(port: int, payload) -> tuple[int, dict]:
    status, _, data = call(port, "POST", "/v1/chat/completions", json.dumps(payload).encode())
    return status, json.loads(data)


@pytest.fixture
def failed():
    loading = server.Loading()
    loading.failure = "the local model could not be loaded: unreadable weights"
    loading.ready.set()
    with serving(loading) as port:
        yield port


def test_health_says_loading_then_failed():
    loading = server.Loading()
    with serving(loading) as port:
        assert json.loads(call(port, "GET", "/health")[2]) == {"status": "loading", "model": adapter.MODEL_NAME}
        loading.failure = "the local model could not be loaded: x"
        loading.ready.set()
        assert json.loads(call(port, "GET", "/v1/health")[2])["status"] == "failed"
        models = json.loads(call(port, "GET", "/v1/models")[2])
        assert [m["id"] for m in models["data"]] == [adapter.MODEL_NAME]


def test_unknown_paths_are_404_in_the_providers_error_shape(failed):
    for method in ("GET", "POST"):
        status, kind, data = call(failed, method, "/v1/embeddings", b"{}")
        assert status == 404 and kind == "application/json"
        assert json.loads(data) == {"error": {"message": "not found", "type": "invalid_request_error"}}


def test_bodies_that_are_missing_too_large_or_not_an_object_are_refused(failed):
    assert call(failed, "POST", "/v1/chat/completions")[0] == 400  # no body
    with socket.create_connection(("127.0.0.1", failed), timeout=30) as raw:  # announced, never sent
        raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4194305\r\n\r\n")
        assert raw.makefile("rb").readline().startswith(b"HTTP/1.1 413 ")
    for body in (b"{not json", b"[1, 2]"):
        status, _, data = call(failed, "POST", "/chat/completions/", body)
        assert status == 400 and json.loads(data)["error"]["type"] == "invalid_request_error"
    streamed_tool = {
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": TOOL}],
        "tool_choice": FORCED,
    }
    status, answer = post(failed, streamed_tool)
    assert status == 400 and "not streamed" in answer["error"]["message"]
    status, answer = post(failed, {"stream": True, "messages": []})
    assert status == 400 and "non-empty list" in answer["error"]["message"]  # before any stream starts


def test_a_model_that_failed_to_load_is_a_server_error_not_a_hang(failed):
    status, answer = post(failed, {"messages": [{"role": "user", "content": "Hello"}]})
    assert status == 500
    assert answer["error"] == {"message": "the local model failed: RuntimeError", "type": "server_error"}


# --- with the installed model --------------------------------------------------------


@pytest.fixture(scope="module")
def model_engine():
    from tests.support import require_usable_model

    require_usable_model()  # a build that crashes on this CPU fails here, in a child, not in pytest
    return engine.Engine(adapter.model_file(), parallel=1, context=512)


@pytest.fixture(scope="module")
def ready(model_engine):
    loading = server.Loading()
    loading.engine = model_engine
    loading.ready.set()
    with serving(loading) as port:
        yield port


def test_a_text_completion_over_http(ready):
    status, answer = post(ready, {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 12})
    assert status == 200 and answer["object"] == "chat.completion"
    choice = answer["choices"][0]
    assert isinstance(choice["message"]["content"], str) and choice["finish_reason"] in ("stop", "length")
    usage = answer["usage"]
    assert 0 < usage["completion_tokens"] <= 12
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    status, answer = post(ready, {"messages": [{"role": "developer", "content": "x"}]})
    assert status == 400 and "role" in answer["error"]["message"]


def test_a_forced_tool_answers_json_of_the_schemas_shape(ready):
    body = {
        "messages": [{"role": "user", "content": "The candidate wrote clean code and explained it well."}],
        "tools": [{"type": "function", "function": TOOL}],
        "tool_choice": FORCED,
        "max_tokens": 200,
    }
    status, answer = post(ready, body)
    assert status == 200 and answer["choices"][0]["finish_reason"] == "tool_calls"
    [tool_call] = answer["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "record"
    arguments = json.loads(tool_call["function"]["arguments"])
    assert arguments["verdict"] in ("hire", "reject")
    assert 60 <= len(arguments["reason"]) <= engine.GRAMMAR_MAX_STRING


def test_a_stream_is_server_sent_events_ending_with_done(ready):
    body = {"stream": True, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    status, kind, data = call(ready, "POST", "/v1/chat/completions", json.dumps(body).encode())
    assert status == 200 and kind == "text/event-stream"
    events = [line.removeprefix(b"data: ") for line in data.split(b"\n\n") if line]
    assert events[-1] == b"[DONE]" and len(events) >= 2
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1


def test_a_conversation_longer_than_the_context_is_cut_to_fit(model_engine):
    cv = " ".join(f"Worked on project {n} with Python and SQL." for n in range(400))  # far over 512 tokens
    answer = model_engine.complete({"messages": [{"role": "user", "content": cv}], "max_tokens": 8})
    assert answer["choices"][0]["message"]["content"] is not None
    assert answer["usage"]["prompt_tokens"] <= model_engine.context


def test_generation_stops_when_the_client_has_gone_and_the_engine_stays_usable(model_engine, ready):
    body = {
        "messages": [{"role": "user", "content": "Judge the candidate."}],
        "tools": [{"type": "function", "function": TOOL}],
        "tool_choice": FORCED,
    }
    with pytest.raises(engine.ClientGone):
        model_engine.complete(body, gone=lambda: True)
    payload = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", ready), timeout=30) as raw:  # asks, then leaves
        raw.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
    status, answer = post(ready, {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
    assert status == 200, answer  # the one instance came back both times


def test_the_runtime_model_is_the_package_file_rewritten_once_as_q8_0(model_engine, tmp_path):
    source = adapter.model_file()
    rewritten = engine.runtime_model(source, tmp_path)
    assert rewritten == tmp_path / "SmolLM2-135M-Instruct.Q8_0.gguf" and rewritten.read_bytes()[:4] == b"GGUF"
    assert rewritten.stat().st_size > source.stat().st_size  # 8 bits a weight instead of about 5
    written_at = rewritten.stat().st_mtime_ns
    assert engine.runtime_model(source, tmp_path) == rewritten and rewritten.stat().st_mtime_ns == written_at  # kept
    assert [p.name for p in tmp_path.iterdir()] == [rewritten.name]  # no partial file left


def test_a_file_that_cannot_be_rewritten_is_loaded_as_it_is(model_engine, tmp_path):
    broken = tmp_path / "Broken.Q4_1.gguf"
    broken.write_bytes(b"not a model")
    assert engine.runtime_model(broken, tmp_path / "out") == broken
    assert list((tmp_path / "out").iterdir()) == []
