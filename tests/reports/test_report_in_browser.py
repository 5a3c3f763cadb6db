"""The HTML bias audit in headless Chromium (Debian's package, driven by
playwright-core) with the network off: the tables and the chart are there, nothing
is fetched, and the page shows the JSON's numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.frontend.node import ROOT, chromium_path
from tests.reports.seed import worked_example
from tests.reports.test_bias_audit_http import report
from tests.support import auth_headers

pytestmark = pytest.mark.io  # starts a browser

HERE = Path(__file__).resolve().parent


def read_in_browser(html_file: Path) -> dict:
    node = shutil.which("node")
    assert node, "node is not on the PATH (Node 20 is a project prerequisite)"
    done = subprocess.run(
        [node, str(HERE / "read_report_page.mjs"), chromium_path(), str(html_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def shown(value) -> str:
    if value is None:
        return "—"
    return str(value).lower() if isinstance(value, bool) else str(value)


async def test_the_page_in_chromium_shows_the_json_numbers(db, services, monkeypatch, unique_ip, tmp_path):
    monkeypatch.setattr(services.rate_limiter, "enabled", False)
    org = await worked_example(db)
    body = (await report(auth_headers(org.admin), unique_ip, organisationId=org.id)).json()
    page = await report(auth_headers(org.admin), unique_ip, organisationId=org.id, format="html")
    file = tmp_path / "bias-audit.html"
    file.write_bytes(page.raw)

    seen = read_in_browser(file)
    assert seen["requests"] == [] and seen["problems"] == []
    assert seen["title"] == f"Bias audit: {org.id}"
    for dimension in ("sex", "raceEthnicity", "intersectional"):
        expected = [
            {column: shown(row[column]) for column in ("category", "count", "rate", "impactRatio", "excludedFromRatio")}
            for row in body[dimension]
        ]
        assert seen["tables"][dimension] == expected, dimension
    # one bar per impact ratio of the JSON, as long as its ratio, red below four fifths
    ratios = [
        (dimension, row["category"], row["impactRatio"])
        for dimension in ("sex", "raceEthnicity", "intersectional")
        for row in body[dimension]
        if row["impactRatio"] is not None
    ]
    bars = seen["bars"]
    assert [(b["dimension"], b["category"], float(b["ratio"])) for b in bars] == ratios
    full = max(b["width"] for b in bars)
    assert full > 100
    for bar in bars:
        assert bar["width"] == pytest.approx(float(bar["ratio"]) * full, abs=1.0)
        assert bar["below"] is (float(bar["ratio"]) < 0.8)
    assert seen["line"]["height"] > 0
    assert seen["line"]["left"] == pytest.approx(bars[0]["left"] + 0.8 * full, abs=1.5)
