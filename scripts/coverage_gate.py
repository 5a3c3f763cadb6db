"""Coverage per package, after `make test`'s pytest run: each of the app's
packages must reach `fail_under` of .coveragerc on its own (the total, which
pytest-cov checks, can hide a weak package behind a strong one).

    python -m scripts.coverage_gate     # exit 1 when a package is under the bar

Child processes that saved their data after pytest-cov combined it (a process
that outlived its parent by a moment) are combined first.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "blueprints", "devhost")


def package_figures(config_file: Path = ROOT / ".coveragerc") -> tuple[dict[str, float], float]:
    """Lines-and-branches percentage of each package, and the bar."""
    from coverage import Coverage
    from coverage.exceptions import NoDataError

    coverage = Coverage(config_file=str(config_file))
    coverage.load()
    coverage.combine(strict=False)  # late data files only; none is fine
    coverage.save()
    figures = {}
    for package in PACKAGES:
        try:
            figures[package] = coverage.report(include=[f"{package}/*"], file=io.StringIO(), skip_covered=True)
        except NoDataError:  # nothing of it was imported: measured as nothing
            figures[package] = 0.0
    return figures, float(coverage.get_option("report:fail_under") or 0)  # type: ignore[arg-type]


def main(config_file: Path = ROOT / ".coveragerc") -> int:
    from coverage.results import display_covered, should_fail_under

    figures, bar = package_figures(config_file)
    under = [package for package, figure in figures.items() if should_fail_under(figure, bar, 1)]
    line = ", ".join(f"{package}/ {display_covered(figure, 1)}%" for package, figure in figures.items())
    print(f"Coverage per package (lines and branches, at least {bar:.0f}% each): {line}")
    if under:
        print(f"Coverage failure: {', '.join(p + '/' for p in under)} under {bar:.0f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
