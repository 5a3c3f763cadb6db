"""devhost/local_model/'s processes: the model server ends with the host that
started it (before it, on SIGTERM; soon after, when the host is killed), and
`make model` reports a failed pip install instead of hiding it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devhost.local_model import install as installer
from shared.ai import local_model as adapter

pytestmark = pytest.mark.io

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped has finished)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def start_python(code: str) -> tuple[subprocess.Popen, int]:
    """A Python child running `code`; returns it and the pid of the grandchild it printed."""
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.strip().isdigit(), f"the child did not start: {line!r}"
    return child, int(line)


SERVER_STANDIN = "[sys.executable, '-c', 'import time; time.sleep(120)']"


@pytest.mark.parametrize("own_handler", [False, True], ids=["default", "handler-of-its-own"])
def test_sigterm_stops_the_server_before_the_host_ends(own_handler):
    handler = "signal.signal(signal.SIGTERM, lambda *_: os._exit(3))\n" if own_handler else ""
    child, server = start_python(
        "import os, signal, subprocess, sys, time\n"
        "from devhost.local_model.supervisor import stop_on_sigterm, stop_process\n"
        f"{handler}"
        f"server = subprocess.Popen({SERVER_STANDIN})\n"
        "stop_on_sigterm(lambda: stop_process(server))\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    try:
        child.send_signal(signal.SIGTERM)
        code = child.wait(20)
        assert not alive(server), "the server outlived the host"
        assert code == (3 if own_handler else -signal.SIGTERM)  # the host still ends as it would have
    finally:
        child.kill()
        if alive(server):
            os.kill(server, signal.SIGKILL)


def test_the_server_ends_when_the_host_is_killed():
    child, server = start_python(
        "import os, subprocess, sys, time\n"
        "watch = f'from devhost.local_model import server; server._watch_parent({os.getpid()})'\n"
        "server = subprocess.Popen([sys.executable, '-c', watch])\n"  # the host's pid, as start_for_host passes it
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    try:
        time.sleep(0.5)
        assert alive(server)
        child.kill()  # SIGKILL: nothing of the host runs
        child.wait(10)
        deadline = time.monotonic() + 15
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(server), "the server outlived its killed host"
    finally:
        if alive(server):
            os.kill(server, signal.SIGKILL)


def test_a_failed_pip_install_is_reported_with_pips_output(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such-project"  # a local path: pip fails without the network
    requirements = tmp_path / "requirements-model.txt"
    requirements.write_text(f"{missing}\n# --no-deps\nsomething-else==1\n")
    monkeypatch.setattr(installer, "REQUIREMENTS", requirements)
    monkeypatch.setattr(installer, "up_to_date", lambda with_deps: False)
    monkeypatch.setattr(adapter, "missing_parts", lambda: ["llama-cpp-python"])
    assert installer.install() == 1
    out = capsys.readouterr().out
    assert "no-such-project" in out  # pip's own explanation is shown
    assert "NOT installed" in out and "missing llama-cpp-python" in out and "answer 503" in out


def test_the_status_command_in_its_own_process():
    done = subprocess.run(
        [sys.executable, "-m", "devhost.local_model", "status"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    if adapter.missing_parts():
        assert done.returncode == 1 and done.stdout.startswith("missing: ")
    else:
        assert done.returncode == 0 and done.stdout.strip() == f"installed: {adapter.model_file()}"
