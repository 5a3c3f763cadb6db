"""Start the local host in a child process and wait until it answers
(used by the HTTP tests, the benchmarks and the parity tool's tests). The host
ends with the process that started it, even one killed (devhost.lifeline)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devhost.lifeline import child_env
from devhost.server import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_devhost(
    env: dict[str, str], *, port: int | None = None, log_path: Path | None = None, timeout: float = 60
) -> tuple[subprocess.Popen, str]:
    """Returns the process and its base URL once /api/health answers."""
    port = port or free_port()
    full_env = child_env({**os.environ, **env})
    log_path = log_path or ROOT / ".local" / f"devhost-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code in (200, 503):
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"devhost did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
