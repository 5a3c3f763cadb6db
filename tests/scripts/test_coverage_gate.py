"""scripts/coverage_gate.py: each package is held to the bar on its own, and data
that a late child process saved after pytest-cov combined still counts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import coverage_gate

pytestmark = pytest.mark.io  # runs coverage in child processes

RC = """[run]
source = shared, blueprints, devhost
branch = true
parallel = true
data_file = data/.coverage
[report]
fail_under = 90
"""
FULL = "def f(x):\n    if x:\n        return 1\n    return 2\n"
RUN_ALL = (
    "import shared.a, blueprints.b, devhost.c\nfor m in (shared.a, blueprints.b, devhost.c):\n    m.f(0); m.f(1)\n"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    for package in coverage_gate.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shared" / "a.py").write_text(FULL)
    (tmp_path / "blueprints" / "b.py").write_text(FULL)
    (tmp_path / "devhost" / "c.py").write_text(FULL)
    (tmp_path / ".coveragerc").write_text(RC)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COVERAGE_FILE", raising=False)
    monkeypatch.delenv("COVERAGE_PROCESS_CONFIG", raising=False)
    return tmp_path


def measure(project, code: str, *, combine: bool = True) -> None:
    (project / "run.py").write_text(code)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)}
    subprocess.run([sys.executable, "-m", "coverage", "run", "run.py"], cwd=project, env=env, check=True)
    if combine:
        subprocess.run([sys.executable, "-m", "coverage", "combine"], cwd=project, env=env, check=True)


def test_every_package_at_the_bar_passes(project, capsys):
    measure(project, RUN_ALL)
    assert coverage_gate.main(project / ".coveragerc") == 0
    assert "shared/ 100.0%, blueprints/ 100.0%, devhost/ 100.0%" in capsys.readouterr().out


def test_one_weak_package_fails_although_the_total_passes(project, capsys):
    (project / "devhost" / "c.py").write_text(FULL + "def g(y):\n    if y:\n        return 3\n    return 4\n")
    (project / "shared" / "big.py").write_text("".join(f"v{n} = {n}\n" for n in range(200)))
    measure(project, RUN_ALL + "import shared.big\n")
    figures, bar = coverage_gate.package_figures(project / ".coveragerc")
    assert bar == 90 and figures["devhost"] < 90 < figures["shared"]
    assert coverage_gate.main(project / ".coveragerc") == 1
    captured = capsys.readouterr()
    assert "Coverage failure: devhost/ under 90%" in captured.err


def test_data_saved_after_the_combine_is_combined_and_a_package_never_imported_counts_as_zero(project):
    measure(project, "import shared.a\nshared.a.f(0)\n")  # combined: half of shared
    measure(project, "import shared.a\nshared.a.f(1)\n", combine=False)  # a late child's file
    figures, _ = coverage_gate.package_figures(project / ".coveragerc")
    assert figures["shared"] == 100.0
    assert figures["blueprints"] == figures["devhost"] == 0.0
