"""An embedded PostgreSQL for development and tests (the pgserver package
bundles real PostgreSQL 16 binaries: no apt, no Docker).

    python -m shared.platform.embedded_db --parent PID --lock FILE DATA_DIR

is the watcher each process using a server starts (see start_embedded_postgres).
It lives here, not in devhost/, because the app's image holds shared/ only."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LOG_NAME = "embedded-postgres.log"
USERS_FILE = ".handle_pids.json"  # pgserver's list of the processes using a server (see release_server)
POLL_SECONDS = 0.2
# The test run shares one server between two pytest workers, each with its pools and the
# local hosts it starts: PostgreSQL's default 100 connections left too little headroom
# ("sorry, too many clients already" once in a fresh-clone run). Takes effect at the
# server's next start (`make test` starts and stops it once before pytest for that).
MAX_CONNECTIONS = 300
STOP_SECONDS = 30.0

# The watcher of each data folder this process uses (by pid: a forked child is no user of its own).
_watchers: dict[tuple[int, Path], subprocess.Popen[bytes]] = {}


def _log_to_file(path: Path) -> None:
    """pgserver logs initdb's and pg_ctl's whole output at INFO: keep it in a
    file under .local/ rather than on the console of `make run` or pytest."""
    logger = logging.getLogger("pgserver")
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a server on `data_dir`; return its connection URI.

    The server keeps running for other processes (devhost, tests) that share
    the same folder; the last handle to exit stops it. pgserver does that at
    exit only: a watcher process (`main` below) does it for this process if it
    dies without exiting (SIGKILL, a segmentation fault).
    """
    data_dir = data_dir.resolve()  # platformdirs ignores a relative XDG_RUNTIME_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    # Keep pgserver's lock and socket folder inside the project.
    runtime = data_dir.parent / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)  # platformdirs ignores a runtime folder others can read
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    log_path = data_dir.parent / LOG_NAME
    _log_to_file(log_path)

    import pgserver

    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:
        raise RuntimeError(f"the embedded PostgreSQL did not start: see {log_path}") from exc
    if (os.getpid(), server.pgdata) not in _watchers:
        _watchers[os.getpid(), server.pgdata] = _start_watcher(server.pgdata, server.lock_path, log_path)
    uri = str(server.get_uri())
    _raise_max_connections(uri)
    return uri


def _raise_max_connections(uri: str) -> None:
    """Persist MAX_CONNECTIONS (postgresql.auto.conf) when the server has fewer."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute("show max_connections").fetchone()
        if row is not None and int(row[0]) < MAX_CONNECTIONS:
            conn.execute(f"alter system set max_connections = {MAX_CONNECTIONS}")


def _start_watcher(data_dir: Path, lock: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """In a session of its own, so that a Ctrl-C or a kill of this process's group
    does not end it before it has done its job; it writes only on failure."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            [
                sys.executable,
                "-m",
                "shared.platform.embedded_db",
                "--parent",
                str(os.getpid()),
                "--lock",
                str(lock),
                str(data_dir),
            ],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def release_server(data_dir: Path, lock: Path, gone: int) -> bool:
    """After process `gone` ended, cleanly or not: removes it and any other process
    that ended from pgserver's list of the server's users, and stops the server when
    no live user is left (a `make run` on the same folder keeps it). Returns whether
    it stopped the server.

    pgserver keeps that list in the data folder and changes it under its lock file
    (`lock`): a user is added when it gets the server, removed by its exit handler,
    and the last one out stops the server. A killed process stays on the list, so
    without this the server would never stop.
    """
    import fasteners  # type: ignore[import-untyped]

    users_file = data_dir / USERS_FILE
    with fasteners.InterProcessLock(str(lock)):  # pgserver's: no start or new user meanwhile
        users: list[int] = json.loads(users_file.read_text()) if users_file.exists() else []
        live = [pid for pid in users if pid != gone and _running(pid)]
        if live != users:
            users_file.write_text(json.dumps(live))
        if live:
            return False
        postmaster = _postmaster(data_dir)
        if postmaster is None:  # stopped by its last user's exit handler
            return False
        postmaster.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown, what `pg_ctl stop -m fast` sends
        deadline = time.monotonic() + STOP_SECONDS
        while _running(postmaster.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return True


def _postmaster(data_dir: Path) -> Any:
    """The server's running postmaster (a psutil.Process), from its postmaster.pid."""
    import psutil  # type: ignore[import-untyped]

    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE:
            return process
    except (OSError, ValueError, psutil.Error):  # no file, or a stale one naming a dead or reused pid
        pass
    return None


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie has ended: only its parent has not reaped it yet)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def main(argv: Sequence[str] | None = None) -> None:
    """The watcher: once its parent is gone (a process whose parent dies is adopted
    by init, so its parent pid changes), release the parent's share of the server."""
    parser = argparse.ArgumentParser(description="Release a dead process's share of an embedded PostgreSQL.")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--lock", type=Path, required=True, help="pgserver's lock file")
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    while os.getppid() == args.parent:
        time.sleep(POLL_SECONDS)
    release_server(args.data_dir, args.lock, args.parent)


if __name__ == "__main__":
    main()
