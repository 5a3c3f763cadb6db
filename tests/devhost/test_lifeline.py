"""A killed run leaves nothing running (devhost.lifeline): a parent process starts a
server through the real code, is killed with SIGKILL (nothing of it runs, as in a
segmentation fault), and the server must be gone within seconds; an embedded
PostgreSQL that another live process still uses must stay up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
import pytest

from devhost import lifeline
from devhost.lifeline import running

pytestmark = pytest.mark.io

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def parent(code: str, lines: int = 1) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """A Python parent running `code`, which prints `lines` lines (pids, URLs) and then
    sleeps; yields it and those lines. Whatever it started is killed afterwards in any case."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time\n" + code + "\ntime.sleep(120)"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    started: list[psutil.Process] = []
    try:
        assert process.stdout is not None
        output = [process.stdout.readline().strip() for _ in range(lines)]
        assert all(output), f"the parent did not start (exit {process.poll()})"
        started = psutil.Process(process.pid).children(recursive=True)
        yield process, output
    finally:
        process.kill()
        process.wait(10)
        for leftover in started:  # a failed test must not leave what it tests for
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_a_python_child_ends_when_its_parent_is_killed():
    child = (
        "import os, signal, time\n"
        "from devhost import lifeline\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # a shutdown that never comes: os._exit ends it
        "lifeline.GRACE_SECONDS = 0.3\n"
        "lifeline.watch_parent_from_env()\n"
        "print(os.environ.get(lifeline.PARENT_ENV, 'removed'), flush=True)\n"
        "time.sleep(120)\n"
    )
    code = (
        "import os, subprocess, sys\n"
        "from devhost.lifeline import child_env\n"
        f"child = subprocess.Popen([sys.executable, '-c', {child!r}], env=child_env(os.environ), stdout=subprocess.PIPE, text=True)\n"
        "print(child.pid, child.stdout.readline().strip(), flush=True)\n"
    )
    with parent(code) as (process, [line]):
        pid, variable = line.split()
        assert variable == "removed"  # its own children do not take the variable for theirs
        assert running(int(pid))
        kill(process)
        assert wait_until(lambda: not running(int(pid)), 5), "the child outlived its killed parent"


def test_a_python_child_without_a_parent_named_runs_on(monkeypatch):
    monkeypatch.delenv(lifeline.PARENT_ENV, raising=False)
    before = threading.active_count()
    lifeline.watch_parent_from_env()  # `make run`: nothing to watch, no thread
    assert threading.active_count() == before


def test_azurite_stops_when_the_process_that_started_it_is_killed():
    code = (
        "from devhost.azurite import running_azurite\n"
        "azurite = running_azurite()\n"  # kept: a dropped context manager would stop it at once
        "print(azurite.__enter__().split('BlobEndpoint=')[1], flush=True)\n"
    )
    with parent(code) as (process, [endpoint]):
        node, watcher = sorted(
            psutil.Process(process.pid).children(), key=lambda p: "lifeline" in " ".join(p.cmdline())
        )
        assert "azurite" in " ".join(node.cmdline()) and "devhost.lifeline" in " ".join(watcher.cmdline())
        kill(process)
        assert wait_until(lambda: not running(node.pid), 8), f"Azurite ({endpoint}) outlived its killed parent"
        assert wait_until(lambda: not running(watcher.pid), 3), "the watcher did not end after its work"


def test_azurites_watcher_ends_with_azurite():
    from devhost.azurite import running_azurite

    def watchers() -> set[int]:
        return {p.pid for p in psutil.Process().children() if "devhost.lifeline" in " ".join(p.cmdline())}

    before = watchers()  # the session's own Azurite may have one
    with running_azurite() as connection_string:
        assert "BlobEndpoint=http://127.0.0.1:" in connection_string
        [watcher] = watchers() - before
    assert not running(watcher)  # released with Azurite, not left polling


def test_a_local_host_stops_when_the_process_that_started_it_is_killed(database_url):
    env = {"APP_ENV": "test", "DATABASE_URL": database_url, "DB_AUTO_MIGRATE": "false", "LOG_LEVEL": "WARNING"}
    code = (
        f"from devhost.launch import start_devhost\nhost, base = start_devhost({env!r})\nprint(host.pid, flush=True)\n"
    )
    with parent(code) as (process, [pid]):
        kill(process)
        assert wait_until(lambda: not running(int(pid)), 10), (
            "the local host outlived its killed parent: does devhost/__main__.py main() call "
            "devhost.lifeline.watch_parent_from_env()?"
        )


def users(data_dir: Path) -> list[int]:
    return json.loads((data_dir / ".handle_pids.json").read_text())


def postmaster(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def test_postgres_stops_when_its_last_user_is_killed_and_not_before():
    """Two processes share one server, as a pytest run and a `make run` do."""
    data_dir = ROOT / ".local" / f"lifeline-{uuid.uuid4().hex[:8]}" / "pg"
    data_dir.mkdir(parents=True)
    code = (
        "from pathlib import Path\n"
        "from shared.platform.embedded_db import start_embedded_postgres\n"
        f"print(start_embedded_postgres(Path({str(data_dir)!r})), flush=True)\n"
    )
    try:
        with parent(code) as (first, [uri]), parent(code) as (second, _):
            server = postmaster(data_dir)
            assert sorted(users(data_dir)) == sorted([first.pid, second.pid])
            kill(second)
            assert wait_until(lambda: users(data_dir) == [first.pid], 5), "the killed user stayed on the list"
            assert running(server), "the server stopped while another process used it"
            with psycopg.connect(uri) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
            kill(first)
            assert wait_until(lambda: not running(server), 10), "the server outlived its last, killed user"
            assert users(data_dir) == []
    finally:
        if (data_dir / "postmaster.pid").exists() and running(postmaster(data_dir)):
            os.kill(postmaster(data_dir), signal.SIGQUIT)  # immediate shutdown
        shutil.rmtree(data_dir.parent, ignore_errors=True)
