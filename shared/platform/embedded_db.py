"""An embedded PostgreSQL for development and tests (the pgserver package
bundles real PostgreSQL 16 binaries: no apt, no Docker)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

LOG_NAME = "embedded-postgres.log"


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
    the same folder; the last handle to exit stops it.
    """
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
    return server.get_uri()
