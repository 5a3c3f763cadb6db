"""Every server a run starts stops with the process that started it, however that
process ends: a SIGKILL or a segmentation fault runs no cleanup, so the server has
to notice by itself (issue 19: a crashed pytest left its PostgreSQL, Azurite and
local hosts running).

Both ways below poll whether the parent is still this process's parent: a process
whose parent dies is adopted by init (or a subreaper), so its parent pid changes,
and a reused pid cannot fool the check.

- A Python child started with `child_env()` calls `watch_parent_from_env()` first:
  once its parent is gone, a daemon thread ends the process with SIGTERM, as
  `devhost.launch.stop` would (its own shutdown runs), then with `os._exit`.
- Any other server gets a watcher process, `python -m devhost.lifeline --parent PID
  --pid SERVER` (`guard`), that terminates the server once the caller is gone.
  The embedded PostgreSQL, which several processes may share, has a watcher of its
  own in shared/platform/embedded_db.py (the app's image holds shared/, not devhost/).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARENT_ENV = "TALENTI_PARENT_PID"
POLL_SECONDS = 0.2  # how soon a child notices; a thread or process asleep costs nothing
GRACE_SECONDS = 5.0  # for a process's own shutdown before it is ended for sure


def wait_for_parent_loss(parent: int, until: Callable[[], bool] = lambda: False) -> bool:
    """Blocks until `parent` is no longer this process's parent (True), or until
    `until()` holds first (False)."""
    while os.getppid() == parent:
        if until():
            return False
        time.sleep(POLL_SECONDS)
    return True


def end_this_process() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)  # a shutdown that hangs (an open stream, a handler that ignores it)
    os._exit(1)


def watch_parent(parent: int, on_loss: Callable[[], None] = end_this_process) -> threading.Thread:
    """A daemon thread that calls `on_loss` once `parent` is gone."""

    def watch() -> None:
        wait_for_parent_loss(parent)
        on_loss()

    thread = threading.Thread(target=watch, name="lifeline", daemon=True)
    thread.start()
    return thread


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a Python child that is to end with this process (it calls
    `watch_parent_from_env`)."""
    return {**env, PARENT_ENV: str(os.getpid())}


def watch_parent_from_env() -> None:
    """Ends this process when the parent named by `child_env` is gone; nothing when
    none is named (`make run`). The variable is removed so that this process's own
    children do not take it for theirs."""
    parent = os.environ.pop(PARENT_ENV, "")
    if parent.isdigit():
        watch_parent(int(parent))


# --- watcher processes ------------------------------------------------------------------------


def guard(pid: int) -> subprocess.Popen[bytes]:
    """A watcher that terminates process `pid` once this process is gone, and ends by
    itself once `pid` has ended; `release` it after stopping `pid`. In a session of
    its own: a Ctrl-C or a kill of this process's group must not end the watcher
    before it has done its job."""
    return subprocess.Popen(
        [sys.executable, "-m", "devhost.lifeline", "--parent", str(os.getpid()), "--pid", str(pid)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def release(watcher: subprocess.Popen[bytes]) -> None:
    """Waits for a `guard` watcher whose process was stopped (it ends at its next poll)."""
    try:
        watcher.wait(GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        watcher.kill()
        watcher.wait()


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie has ended: only its parent has not reaped it yet)."""
    import psutil  # type: ignore[import-untyped]

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def stop_process(pid: int, parent: int) -> None:
    """The `--pid` watcher: once `parent` is gone, SIGTERM `pid`, then SIGKILL; returns
    at once when `pid` ends first."""
    import psutil

    try:
        process = psutil.Process(pid)  # remembers its start time: a reused pid is never signalled
    except psutil.NoSuchProcess:
        return
    if not wait_for_parent_loss(parent, until=lambda: not process.is_running() or not running(pid)):
        return
    try:
        process.terminate()
        process.wait(GRACE_SECONDS)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.NoSuchProcess:
        pass


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Terminate a server once the process that started it is gone.")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process")
    args = parser.parse_args(argv)
    stop_process(args.pid, args.parent)


if __name__ == "__main__":
    main()
