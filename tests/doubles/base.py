"""Common machinery for the wire-level HTTP doubles.

Each double is a real HTTP/1.1 server on 127.0.0.1 (random port) running in a
daemon thread, so the real SDKs can be pointed at ``double.url`` unmodified.
Subclasses implement ``handle(request) -> Reply``; the base records every
request, applies injected failures and delays, and turns handler exceptions
into 500 answers so the server thread never dies.
"""

from __future__ import annotations

import json
import socket
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass
class RecordedRequest:
    method: str
    target: str  # request target exactly as sent: raw path plus query
    path: str  # percent-decoded path, no query
    query: dict[str, str]  # last value wins for repeated names
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any = None  # parsed body when it is JSON, else None

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Reply:
    """An answer. ``body`` may be bytes, str, or anything JSON-serialisable.

    With ``stream`` the chunks are sent with chunked transfer encoding as they
    are produced; ``abort_stream`` then drops the connection instead of
    finishing the body (a failure mid-way). ``drop`` closes the connection
    without answering at all.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None
    abort_stream: bool = False
    drop: bool = False
    delay: float = 0.0


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, obj, {"content-type": "application/json", **(headers or {})})


@dataclass
class _Failure:
    reply: Reply
    times: int
    path: str | None  # only requests whose path starts with this


class ServiceDouble:
    """Base class: start/stop, request log, failure injection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.delay_seconds = 0.0
        self.handler_errors: list[str] = []  # tracebacks of handler crashes

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()
        # Keep-alive connections would otherwise linger with their handler threads.
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _close_quietly(conn)
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        """host:port, as clients put it in the Host header."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # -- recording and failure injection --------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
        ]

    def reset(self) -> None:
        """Forget requests, pending failures and the delay."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self.handler_errors.clear()
        self.delay_seconds = 0.0

    def fail_next(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        path: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests (optionally only those whose path
        starts with ``path``) with ``status``. Without ``body`` the service's
        usual error JSON for that status is used."""
        if body is None:
            body = self.error_body(status, path or "")
        headers = dict(headers or {})
        if not isinstance(body, (bytes, str)):
            headers.setdefault("content-type", "application/json")
        reply = Reply(status, body, headers, delay=delay)
        with self._lock:
            self._failures.append(_Failure(reply, times, path))

    def drop_next(self, times: int = 1, path: str | None = None) -> None:
        """Close the connection without answering the next ``times`` requests."""
        with self._lock:
            self._failures.append(_Failure(Reply(drop=True), times, path))

    def error_body(self, status: int, path: str) -> Any:
        """The service's error JSON for an injected failure; override per service."""
        return {"error": {"code": str(status), "message": f"injected failure {status}"}}

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the double stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    # -- to implement ----------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    # -- internals -------------------------------------------------------------

    def _dispatch(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            failure = next((f for f in self._failures if f.path is None or request.path.startswith(f.path)), None)
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
        self.sleep(self.delay_seconds)
        if failure is not None:
            return failure.reply
        try:
            return self.handle(request)
        except Exception:
            self.handler_errors.append(traceback.format_exc())
            return json_reply(500, {"error": {"code": "DoubleError", "message": "unhandled error in test double"}})


def _close_quietly(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def _encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _make_handler(double: ServiceDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; every answer carries a length or is chunked
        disable_nagle_algorithm = True  # headers and body go as separate writes: no 40 ms delayed-ACK stall
        server_version = "ServiceDouble/1.0"

        def setup(self) -> None:
            super().setup()
            with double._lock:
                double._connections.add(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass
            with double._lock:
                double._connections.discard(self.connection)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._read_body()
            parts = urlsplit(self.path)
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            parsed = None
            if body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    pass
            request = RecordedRequest(
                method=self.command,
                target=self.path,
                path=unquote(parts.path),
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers=headers,
                body=body,
                json=parsed,
            )
            reply = double._dispatch(request)
            double.sleep(reply.delay)
            if double._stopping.is_set() or reply.drop:
                self.close_connection = True
                _close_quietly(self.connection)
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream is None:
                payload = _encode_body(reply.body)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.stream:
                if double._stopping.is_set():
                    break
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            if reply.abort_stream or double._stopping.is_set():
                self.close_connection = True
                self.wfile.flush()
                _close_quietly(self.connection)
                return
            self.wfile.write(b"0\r\n\r\n")

        def _handle_any(self) -> None:
            try:
                self._serve()
            except (TimeoutError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.close_connection = True  # the client went away (e.g. it timed out)
            except Exception:
                double.handler_errors.append(traceback.format_exc())
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle_any

    return Handler
