"""Cold start: `import function_app` against the platform's own floor.

A cold instance must import the Functions worker's libraries whatever the app
does: `azure.functions`, `azure.durable_functions` and the HTTP-streams
extension (which brings FastAPI and Starlette). That is the floor; the app's
own cost is what `import function_app` adds on top (its modules and the work
done at import: building the app, registering every function). Targets:
app <= 1.10 x the floor, and <= 0.5 x importing the SDKs the app defers to
first use (openai, supabase, Azure Storage/Identity/ACS, Event Grid, resend,
pypdf, psycopg).

Every import runs in a fresh interpreter; the statements are interleaved
round by round so all of them see the same machine load.

    .venv/bin/python -m benchmarks.bench_cold_start [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.common import ROOT

STATEMENTS = {
    "interpreter": "pass",
    "floor": "import azure.functions, azure.durable_functions, azurefunctions.extensions.http.fastapi",
    "app": "import function_app",
    "sdks": (
        "import openai, supabase, azure.storage.blob.aio, azure.identity.aio, "
        "azure.communication.identity.aio, azure.eventgrid, resend, pypdf, psycopg, psycopg_pool"
    ),
}


def time_import(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", statement],
        cwd=ROOT,
        check=True,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "development", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return time.perf_counter() - started


def main(rounds: int = 7) -> dict:
    for statement in STATEMENTS.values():  # bytecode and file caches warm
        time_import(statement)
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(rounds):
        for name, statement in STATEMENTS.items():
            samples[name].append(time_import(statement))
    med = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    over_floor = med["app"] / med["floor"]
    over_sdks = med["app"] / med["sdks"]
    print(f"rounds={rounds} (medians of fresh interpreters, interleaved)")
    for name, statement in STATEMENTS.items():
        print(f"  {name:<12} {med[name]:8.1f} ms   {statement[:70]}")
    print(f"app / floor  {over_floor:.3f}  (target <= 1.10); the app adds {med['app'] - med['floor']:.1f} ms")
    print(f"app / SDKs   {over_sdks:.3f}  (target <= 0.50)")
    return {"medians_ms": med, "app_over_floor": over_floor, "app_over_sdks": over_sdks}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    main(parser.parse_args().rounds)
