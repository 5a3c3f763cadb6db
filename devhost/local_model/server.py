"""The embedded model's OpenAI-compatible HTTP server on loopback.

    POST /v1/chat/completions   text, streamed text, or a forced tool call
    GET  /health                {"status": "loading" | "ok" | "failed", "model": ...}

What it understands of the Chat Completions API:
- `messages` (system, user, assistant, and the tool turns of a retry, which
  become plain text for a model without tool training);
- `tools` with a forced `tool_choice`: the answer is generated under a grammar
  built from that tool's `parameters` schema, so it is JSON of the schema's
  shape, and comes back as that tool's call;
- `stream: true` for text (server-sent events, `data: [DONE]` at the end);
- `max_tokens`, `temperature`.

The port opens at once; the server says `ok` only after the model has loaded
and generated a few tokens (the self-test), so a build that crashes on this CPU
dies before anyone relies on it (devhost/local_model/supervisor.py tells why).
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devhost.local_model.engine import (
    BadRequest,
    ClientGone,
    Engine,
    _forced_tool,
    _model_name,
    _plain_messages,
    first_words,
    runtime_model,
)

MAX_BODY = 4 * 1024 * 1024
LOADED_LINE = "local model loaded in"  # what the supervisor and the tests wait for in the log

log = logging.getLogger("devhost.local_model")


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
    from shared.ai.local_model import model_file, unavailable_message

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
        engine = Engine(runtime_model(path), parallel=parallel, threads=threads)
        first_words(engine)  # the self-test: a build this CPU cannot run dies here, before `ok`
        loading.engine = engine
    except Exception as exc:
        loading.failure = f"the local model could not be loaded: {exc}"
        log.exception("local_model: load failed")
    loading.ready.set()
    elapsed = time.perf_counter() - started
    print(f"{LOADED_LINE} {elapsed:.1f} s" if loading.engine else f"{loading.failure} ({elapsed:.1f} s)", flush=True)
    threading.Event().wait()  # serve until ended
