"""`make bench`: run every benchmarks/bench_*.py module's main() in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(selected: list[str]) -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")):
        if selected and module not in selected:
            continue
        print(f"\n=== {module} ===", flush=True)
        importlib.import_module(f"benchmarks.{module}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
