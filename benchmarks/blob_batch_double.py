"""A minimal Blob service for the retention benchmark: batch deletes only,
answered at once, so the benchmark measures our code (and PostgreSQL) rather
than the emulator. Speaks the wire protocol the real azure-storage-blob SDK
uses (multipart/mixed `comp=batch` requests, one application/http part per
sub-request; answers 202 or 404 per blob, in order).

Run as its own process (its work must not count in the benchmark's memory):
    python -m benchmarks.blob_batch_double --port 0   # prints the port
Test hooks: POST /_seed (one blob name per line), GET /_count.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

_REQUEST_LINE = re.compile(rb"^DELETE (\S+) HTTP/1\.1", re.MULTILINE)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port
    blobs: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-ms-version", "2025-01-05")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                count = len(blobs)
            self._reply(200, str(count).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/_seed":
                with lock:
                    blobs.update(body.decode().split("\n"))
                self._reply(204)
                return
            if "comp=batch" not in self.path:
                self._reply(400)
                return
            # Each sub-request: DELETE /<account>/<container>/<blob>?... -> its blob name.
            results = []
            for target in _REQUEST_LINE.findall(body):
                path = unquote(urlsplit(target.decode()).path)
                name = path.split("/", 3)[3] if path.count("/") >= 3 else ""
                with lock:
                    existed = name in blobs
                    blobs.discard(name)
                results.append(202 if existed else 404)
            boundary = f"batchresponse_{uuid.uuid4()}"
            parts = []
            for index, status in enumerate(results):
                reason = "Accepted" if status == 202 else "The specified blob does not exist."
                parts.append(
                    f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {index}\r\n\r\n"
                    f"HTTP/1.1 {status} {reason}\r\nx-ms-version: 2025-01-05\r\n"
                    f"x-ms-request-id: {uuid.uuid4()}\r\nContent-Length: 0\r\n\r\n"
                )
            payload = ("".join(parts) + f"--{boundary}--\r\n").encode()
            self._reply(202, payload, f"multipart/mixed; boundary={boundary}")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
