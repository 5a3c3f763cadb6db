"""Cold start: `import function_app` against importing the SDKs the app uses.

The app must take at most half the SDKs' import time, because heavy SDKs are
imported where they are used, not at module load. Each import runs in a fresh
interpreter; the two are alternated so both see the same machine load.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.common import ROOT

APP = "import function_app"
SDKS = ("import openai, supabase, azure.storage.blob.aio, azure.identity.aio, "
        "azure.communication.identity.aio, azure.eventgrid, resend, pypdf")
BASELINE = "pass"


def time_import(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True,
                   env={"PATH": "/usr/bin:/bin", "APP_ENV": "development", "PYTHONDONTWRITEBYTECODE": "1"})
    return time.perf_counter() - started


def main(rounds: int = 15) -> dict:
    for statement in (APP, SDKS):  # compile caches warm
        time_import(statement)
    results = {"app": [], "sdks": [], "interpreter": []}
    for _ in range(rounds):
        results["interpreter"].append(time_import(BASELINE))
        results["app"].append(time_import(APP))
        results["sdks"].append(time_import(SDKS))
    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    ratio = med["app"] / med["sdks"]
    net_ratio = (med["app"] - med["interpreter"]) / (med["sdks"] - med["interpreter"])
    print(f"rounds={rounds} (fresh interpreter each, alternated)")
    print(f"python -c pass            median {med['interpreter']:7.1f} ms")
    print(f"import function_app       median {med['app']:7.1f} ms")
    print(f"import the SDKs together  median {med['sdks']:7.1f} ms")
    print(f"ratio app/SDKs            {ratio:.2f} (target <= 0.50); without interpreter start-up {net_ratio:.2f}")
    return {"medians_ms": med, "ratio": ratio, "net_ratio": net_ratio}


if __name__ == "__main__":
    main()
