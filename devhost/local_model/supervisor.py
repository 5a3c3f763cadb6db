"""The embedded model for the local host: prepared in the background, watched while it runs.

The host serves at once; this runs beside it:
1. installs the model when it is missing (the first `make run` compiles llama.cpp);
2. starts the model server, whose self-test (load, then a few tokens) must pass
   before it says `ok`: dying or hanging before that marks the model unusable,
   with the signal and the CPU's flags;
3. restarts a server that dies after it was ready (at most MAX_RESTARTS within
   RESTART_WINDOW seconds), logging why.
Until the model is ready the AI endpoints answer 503 with Retry-After and what
is happening; an unusable model is a 503 naming the cause and the fix
(`availability`, which the app's AI adapter asks before every call).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from devhost.local_model import selftest
from devhost.local_model.install import installed_record, up_to_date
from shared.ai.local_model import Availability

ROOT = Path(__file__).resolve().parents[2]
MAX_RESTARTS = 3
RESTART_WINDOW = 600.0  # seconds
READY_TIMEOUT = selftest.TIMEOUT_SECONDS  # loading and the self-test; longer is a hang
PREPARING_RETRY_AFTER = 30  # seconds: a build takes minutes, a load seconds
RESTARTING_RETRY_AFTER = 5

log = logging.getLogger("devhost.local_model")

Phase = Literal["installing", "loading", "ready", "restarting", "unusable"]


@dataclass(frozen=True)
class State:
    phase: Phase
    detail: str = ""


class Supervisor:
    """One model server for one local host. `command` is the server's command line
    without its port (tests give a stand-in that crashes); `install`, when given,
    installs a missing or outdated model and returns 0 when it is installed."""

    def __init__(
        self,
        log_path: Path,
        port: int,
        *,
        command: list[str] | None = None,
        install: Callable[[], int] | None = None,
        ready_timeout: float = READY_TIMEOUT,
        verdict_file: Path = selftest.VERDICT_FILE,
    ):
        self.log_path = log_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.command = command or [sys.executable, "-m", "devhost.local_model", "serve"]
        self.install = install
        self.ready_timeout = ready_timeout
        self.verdict_file = verdict_file
        self.state = State("loading", "starting")
        self.restarts: list[float] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._done = threading.Event()

    # --- what the app asks ---------------------------------------------------------

    def availability(self) -> Availability:
        state = self.state
        if state.phase == "ready" and self.process is not None and self.process.poll() is None:
            return Availability(ready=True)
        if state.phase == "unusable":
            return Availability(ready=False, message=state.detail)
        if state.phase == "ready":  # died a moment ago; the watcher restarts it
            state = State("restarting", "the local model server stopped; it is being restarted")
        retry = PREPARING_RETRY_AFTER if state.phase == "installing" else RESTARTING_RETRY_AFTER
        return Availability(
            ready=False, message=f"The local AI model is being prepared: {state.detail}", retry_after=retry
        )

    def banner_line(self) -> str:
        state = self.state
        if state.phase == "unusable":
            return f"UNUSABLE: {state.detail}"
        return f"{state.detail}; the AI endpoints answer 503 with Retry-After until it is ready (log {self.log_path})"

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Decides what can be said at once (a kept verdict of unusable), then prepares
        and runs the server on a thread of its own."""
        record = installed_record() or {}
        verdict = selftest.load(str(record.get("key", "unknown")), self.verdict_file)
        if verdict is not None and not verdict.ok:
            self._set("unusable", verdict.message())
            return
        self._set("loading", "installed, loading" if record else "checking the installation")
        atexit.register(self.stop)
        threading.Thread(target=self._run, name="local-model-supervisor", daemon=True).start()

    def stop(self) -> None:
        self._stopping = True
        if self.process is not None:
            stop_process(self.process)

    def wait(self, timeout: float) -> bool:
        """Until the server is ready or unusable (for tests and benchmarks)."""
        return self._done.wait(timeout)

    def _set(self, phase: Phase, detail: str) -> None:
        self.state = State(phase, detail)
        if phase in ("ready", "unusable"):
            self._done.set()
        line = f"Local AI model: {phase}: {detail}"
        print(line, flush=True)
        (log.warning if phase in ("unusable", "restarting") else log.info)("%s", line)

    def _run(self) -> None:
        try:
            if self.install is not None and not up_to_date_quietly():
                self._set("installing", "installing llama-cpp-python and the model (the first build takes minutes)")
                if self.install() != 0:
                    self._set("unusable", _install_failure(self.log_path))
                    return
            while not self._stopping:
                ended = self._serve_once()
                if self._stopping or ended is None:
                    return
                now = time.monotonic()
                self.restarts = [at for at in self.restarts if now - at < RESTART_WINDOW]
                if len(self.restarts) >= MAX_RESTARTS:
                    self._set(
                        "unusable",
                        f"The local AI model server {ended} {MAX_RESTARTS + 1} times within "
                        f"{RESTART_WINDOW / 60:.0f} minutes (see {self.log_path}); restart `make run`",
                    )
                    return
                self.restarts.append(now)
                self._set("restarting", f"the server {ended} while running; restarting it")
        except Exception as exc:  # the host keeps serving; the AI endpoints say why
            log.exception("local_model: supervisor failed")
            self._set("unusable", f"The local AI model could not be started: {exc}")

    def _serve_once(self) -> str | None:
        """Starts the server and waits for it. Returns how it ended after it was
        ready (restart it), or None when it is unusable or being stopped."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port), "--parent", str(os.getpid())],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        problem = self._wait_ready(self.process)
        if problem is not None:
            if not self._stopping:
                verdict = selftest.Verdict(False, problem, selftest.cpu_summary(), _build_key())
                selftest.save(verdict, self.verdict_file)
                self._set("unusable", verdict.message())
            return None
        self._set("ready", f"{self.url} (embedded, CPU; log {self.log_path})")
        returncode = self.process.wait()
        return None if self._stopping else selftest.describe_exit(returncode)

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> str | None:
        """None once /health says ok; else why not (died, failed to load, or hung)."""
        deadline = time.monotonic() + self.ready_timeout
        health = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return f"the model server {selftest.describe_exit(process.returncode)} in its self-test"
            try:
                status = httpx.get(health, timeout=2).json().get("status")
            except (httpx.HTTPError, ValueError):
                status = None
            if status == "ok":
                return None
            if status == "failed":
                stop_process(process)
                return f"the model could not be loaded (see {self.log_path})"
            time.sleep(0.2)
        stop_process(process)
        return f"the model server hung for {self.ready_timeout:.0f} s in its self-test"


def up_to_date_quietly() -> bool:
    from devhost.local_model.install import requirement_groups

    return up_to_date(requirement_groups()[0])


def install_in_child(log_path: Path) -> Callable[[], int]:
    """`python -m devhost.local_model install` with its output in the log."""

    def install() -> int:
        # On a fresh clone nothing has made .local yet when the first install starts.
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as out:
            return subprocess.run(
                [sys.executable, "-m", "devhost.local_model", "install", "--no-self-test"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            ).returncode

    return install


def _build_key() -> str:
    return str((installed_record() or {}).get("key", "unknown"))


def _install_failure(log_path: Path) -> str:
    return (
        f"The local AI model could not be installed (see {log_path}): run `make model` to see why "
        "(it needs cmake and a C++ compiler), or configure a hosted model (AI_PROVIDER, AI_MODEL and AI_API_KEY)"
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def stop_on_sigterm(stop: Callable[[], None]) -> None:
    """SIGTERM ends the host without running atexit: the server is stopped first, so it
    is gone (and has finished its own exit, coverage data included) when the host is."""
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN or threading.current_thread() is not threading.main_thread():
        return

    def stop_then_exit(signum: int, frame: object) -> None:
        stop()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, stop_then_exit)


def start_if_selected(log_path: Path) -> Supervisor | None:
    """When AI_PROVIDER resolves to `local` and no LOCAL_MODEL_URL is given: picks the
    server's port, points the app's settings at it, publishes the supervisor's
    availability to the AI adapter and starts preparing in the background."""
    from devhost.launch import free_port
    from shared.ai import local_model
    from shared.platform.config import ConfigurationError, get_settings, reset_settings

    try:
        settings = get_settings()
    except ConfigurationError:
        return None  # the host reports it
    if settings.ai_provider != "local" or settings.LOCAL_MODEL_URL:
        return None
    supervisor = Supervisor(log_path, free_port(), install=install_in_child(log_path))
    os.environ["LOCAL_MODEL_URL"] = supervisor.url
    reset_settings()
    local_model.watch(supervisor.availability)
    supervisor.start()
    stop_on_sigterm(supervisor.stop)
    return supervisor
