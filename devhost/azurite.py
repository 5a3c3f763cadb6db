"""Azurite's Blob service (npm package `azurite`) on a free loopback port, for
tests and benchmarks. Started with --disableTelemetry (no network) and
--skipApiVersionCheck (the SDK may be newer than the emulator); a watcher process
stops it if the process that started it dies without stopping it (devhost.lifeline)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devhost import lifeline
from devhost.launch import free_port
from devhost.server import ROOT

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteMissing(RuntimeError):
    pass


@contextmanager
def running_azurite(
    workspace_parent: Path | None = None,
    on_disk: bool = False,
    *,
    port: int | None = None,
    location: Path | None = None,
) -> Iterator[str]:
    """Yields a connection string for the development account; stops Azurite afterwards.
    `on_disk` keeps blobs in the workspace folder instead of memory (about twice as
    fast to delete from once it holds thousands of blobs). A given `location` (blobs
    on disk, kept afterwards) and `port` let a test stop Azurite and start it again
    with the same blobs at the same address."""
    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise AzuriteMissing("Azurite is not installed: run `make deps` (it runs npm install)")
    port = port or free_port()
    on_disk = on_disk or location is not None
    if location is not None:
        Path(location).mkdir(parents=True, exist_ok=True)
    workspace = str(location) if location is not None else tempfile.mkdtemp(prefix="azurite-", dir=workspace_parent)
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            *(["--location", workspace] if on_disk else ["--inMemoryPersistence"]),
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
            "--loose",
        ],
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watcher = lifeline.guard(process.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(f"Azurite did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        )
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        lifeline.release(watcher)
        if location is None:
            shutil.rmtree(workspace, ignore_errors=True)
