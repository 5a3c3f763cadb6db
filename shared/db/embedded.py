"""An embedded PostgreSQL for development and tests (the pgserver package
bundles real PostgreSQL 16 binaries: no apt, no Docker)."""

from __future__ import annotations

import os
from pathlib import Path


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

    import pgserver

    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
