"""`make bench`: run every benchmarks/bench_*.py module's main() in turn, then print
the table of headline figures that docs/PERFORMANCE.md keeps (goal, figure, command)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
from collections.abc import Callable
from typing import Any

import benchmarks

# module -> (figure, goal, how to read it from main()'s result)
HEADLINES: dict[str, tuple[str, str, Callable[[Any], str]]] = {
    "bench_cold_start": (
        "import function_app / platform floor; / SDKs",
        "<= 1.10; <= 0.50",
        lambda r: f"{r['app_over_floor']:.3f}; {r['app_over_sdks']:.3f}",
    ),
    "bench_request_overhead": ("organisations / health, median", "<= 2.0", lambda r: f"{r['ratio']:.2f}"),
    "bench_ai": ("interviewer turn / health, median", "< 3", lambda r: f"{r['ratio']:.2f}"),
    "bench_local_model": (
        "embedded model: practice-interview turn, median s",
        "<= 5",
        lambda r: f"{r['http']['practice turn (any)']:.2f}",
    ),
    "bench_invitations": (
        "invitation send latency, one statement per transaction / as before, median of rounds",
        "< 1",
        lambda r: f"{r['latency_ratio']['median']:.2f}",
    ),
    "bench_peer": (
        "organisation creation throughput, app / plain FastAPI peer; / peer given the app's SQL",
        ">= 1.10",
        lambda r: "; ".join(
            f"{r['ratios'][f'app/{peer} POST /api/organisations']['throughput']:.2f}" for peer in ("peer", "peer-one")
        ),
    ),
}


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load}"


def main(selected: list[str]) -> None:
    results: dict[str, Any] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")):
        if selected and module not in selected:
            continue
        print(f"\n=== {module} ===", flush=True)
        results[module] = importlib.import_module(f"benchmarks.{module}").main()
    print("\n| benchmark | figure | goal | measured | command |\n|---|---|---|---|---|")
    for module, result in results.items():
        figure, goal, read = HEADLINES.get(module, ("(see its output above)", "", lambda r: ""))
        try:
            measured = read(result)
        except (KeyError, TypeError):
            measured = "(see above)"
        print(f"| {module} | {figure} | {goal} | {measured} | `.venv/bin/python -m benchmarks.{module}` |")
    print(f"\nmachine: {machine()}")


if __name__ == "__main__":
    main(sys.argv[1:])
