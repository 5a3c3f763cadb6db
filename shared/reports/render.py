"""The bias audit report as CSV and as a self-contained HTML page (pure: no I/O).

The page loads nothing (inline styles, an inline SVG chart, no script), and every
value is HTML-escaped, category names included, although they come from our own
table: the escaping must not depend on where a string came from."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

from shared.reports.rules import CSV_COLUMNS, DIMENSIONS, FOUR_FIFTHS, SCORING_RATE, csv_cell

TITLES = {"sex": "Sex", "raceEthnicity": "Race/ethnicity", "intersectional": "Intersectional (sex / race/ethnicity)"}


def csv_text(report: dict[str, Any]) -> str:
    """A header, then one line per row of the JSON, its dimension first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for dimension in DIMENSIONS:
        for row in report[dimension]:
            writer.writerow([dimension, *(csv_cell(row[column]) for column in CSV_COLUMNS[1:])])
    return out.getvalue()


def _text(value: Any) -> str:
    """A value as the page shows it: "—" for null, true/false for booleans, escaped."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value), quote=True)


def _table(dimension: str, rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th scope='col'>{escape(c)}</th>" for c in CSV_COLUMNS[1:])
    body = "".join(
        f"<tr data-category='{_text(row['category'])}'>"
        + "".join(f"<td data-column='{escape(c)}'>{_text(row[c])}</td>" for c in CSV_COLUMNS[1:])
        + "</tr>"
        for row in rows
    )
    return (
        f"<section><h2>{escape(TITLES[dimension])}</h2>"
        f"<table data-dimension='{escape(dimension)}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</section>"
    )


BAR_HEIGHT, GAP, LABEL_WIDTH, PLOT_WIDTH, TOP = 18, 6, 330, 400, 24


def _chart(report: dict[str, Any]) -> str:
    """Horizontal bars of every impact ratio there is (0 to 1), with the four-fifths line."""
    bars = [
        (dimension, row["category"], row["impactRatio"])
        for dimension in DIMENSIONS
        for row in report[dimension]
        if row["impactRatio"] is not None
    ]
    height = TOP + len(bars) * (BAR_HEIGHT + GAP) + 20
    width = LABEL_WIDTH + PLOT_WIDTH + 60
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' id='impact-ratios' role='img' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' aria-label='Impact ratios by category, with the four-fifths line'>"
    ]
    for n, (dimension, category, ratio) in enumerate(bars):
        y = TOP + n * (BAR_HEIGHT + GAP)
        length = round(ratio * PLOT_WIDTH, 1)
        below = " below" if ratio < FOUR_FIFTHS else ""
        parts.append(
            f"<text x='{LABEL_WIDTH - 6}' y='{y + BAR_HEIGHT - 5}' text-anchor='end'>{_text(category)}</text>"
            f"<rect class='bar{below}' data-dimension='{escape(dimension)}' data-category='{_text(category)}' "
            f"data-impact-ratio='{_text(ratio)}' x='{LABEL_WIDTH}' y='{y}' width='{length}' height='{BAR_HEIGHT}'/>"
            f"<text x='{LABEL_WIDTH + length + 4}' y='{y + BAR_HEIGHT - 5}'>{_text(ratio)}</text>"
        )
    line_x = LABEL_WIDTH + FOUR_FIFTHS * PLOT_WIDTH
    parts.append(
        f"<line id='four-fifths' x1='{line_x}' x2='{line_x}' y1='{TOP - 8}' y2='{height - 12}'/>"
        f"<text x='{line_x}' y='{TOP - 12}' text-anchor='middle'>0.8 (four-fifths)</text></svg>"
    )
    if not bars:
        parts.insert(0, "<p id='no-ratios'>No impact ratio can be computed for this period.</p>")
    return "".join(parts)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}
table{border-collapse:collapse;margin:0 0 1.5rem}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}
td[data-column=count],td[data-column=rate],td[data-column=impactRatio]{text-align:right}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
svg text{font-size:12px}
rect.bar{fill:#3a6ea5}
rect.bar.below{fill:#c0392b}
#four-fifths{stroke:#111;stroke-width:2;stroke-dasharray:4 3}
"""


def html_page(report: dict[str, Any]) -> str:
    method = "Scoring rate" if report["method"] == SCORING_RATE else "Selection rate"
    summary = [
        ("Organisation", report["organisationId"]),
        ("Role", report["roleId"] or "All roles"),
        ("Stage", report["stage"]),
        ("Method", method),
        ("From", report["from"] or "(no start)"),
        ("To", report["to"] or "(no end)"),
        ("Assessed", report["assessed"]),
    ]
    if report["method"] == SCORING_RATE:
        summary.append(("Median score", report.get("median")))
    summary += [
        ("Unknown sex", report["unknown"]["sex"]),
        ("Unknown race/ethnicity", report["unknown"]["raceEthnicity"]),
        ("Generated", report["generatedAt"]),
    ]
    facts = "".join(
        f"<dt>{escape(name)}</dt><dd data-field='{escape(name)}'>{_text(value)}</dd>" for name, value in summary
    )
    tables = "".join(_table(dimension, report[dimension]) for dimension in DIMENSIONS)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Bias audit: {_text(report['organisationId'])}</title><style>{STYLE}</style></head><body>"
        f"<h1>Bias audit ({escape(method.lower())})</h1><dl>{facts}</dl>"
        "<p>Unknown (missing, declined or unmapped self-identification) is counted above and never in a rate. "
        "A category under 2% of the assessed is shown but left out of the impact ratios (excludedFromRatio).</p>"
        f"<h2>Impact ratios</h2>{_chart(report)}{tables}</body></html>"
    )
