"""The bias audit's rules, pure: the category mapping, the application status order,
and the scoring-rate and selection-rate arithmetic of NYC Local Law 144's bias
audit (docs/REPORTS.md, docs/RESPONSIBLE_AI.md). No I/O: tests/reports/test_rules.py
checks each rule on plain values.

Self-identification enters here as free text and leaves only as counts and rates
of categories: nothing in this module returns a person's value.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.reports.models import Stage

SCORING_RATE = "scoring_rate"
SELECTION_RATE = "selection_rate"

# LL144's rules let an auditor leave a category under 2% of the assessed out of the
# impact ratios (its count and rate are still shown).
SMALL_CATEGORY_SHARE = 0.02
FOUR_FIFTHS = 0.8  # the EEOC's rule of thumb, drawn on the HTML chart only: not a verdict
DECIMALS = 4

# --- the application status order -----------------------------------------------------

# applications.status is free text (001_supabase_schema.sql lists these values). The
# hiring funnel, in order: an application "reached" a stage when its status is that
# stage or a later one. A rejected or withdrawn application (or any status not listed)
# did not reach any stage: the table keeps no history of where it was when it stopped,
# so the report does not guess.
STATUS_ORDER: tuple[str, ...] = (
    "applied",
    "screening",
    "invited",
    "interviewing",
    "interviewed",
    "shortlisted",
    "hired",
)


def reached(status: str | None, stage: Stage) -> bool:
    """Whether an application with `status` reached `stage` (a selection stage)."""
    if stage == "score" or status not in STATUS_ORDER:
        return False
    return STATUS_ORDER.index(status) >= STATUS_ORDER.index(stage)


def method_of(stage: Stage) -> str:
    return SCORING_RATE if stage == "score" else SELECTION_RATE


# --- the category mapping ----------------------------------------------------------------

MALE, FEMALE = "Male", "Female"
SEX_CATEGORIES: tuple[str, ...] = (MALE, FEMALE)

HISPANIC = "Hispanic or Latino"
WHITE = "White"
BLACK = "Black or African American"
PACIFIC = "Native Hawaiian or Other Pacific Islander"
ASIAN = "Asian"
NATIVE = "American Indian or Alaska Native"
TWO_OR_MORE = "Two or More Races"
# The EEO-1 race/ethnicity categories, in the EEO-1 report's order.
RACE_CATEGORIES: tuple[str, ...] = (HISPANIC, WHITE, BLACK, PACIFIC, ASIAN, NATIVE, TWO_OR_MORE)

# Free text as people type it, normalised (see `normalise`), to a category. Anything
# not listed is Unknown: counted, never in a rate. That includes "prefer not to say",
# "other", and self-descriptions the table does not map on purpose (non-binary, a
# nationality, a continent): the report does not assign people a category they did
# not choose. An employer whose form offers other answers extends the table.
SEX_ALIASES: dict[str, str] = {
    **dict.fromkeys(("male", "m", "man", "men"), MALE),
    **dict.fromkeys(("female", "f", "woman", "women"), FEMALE),
}
RACE_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        (
            "hispanic",
            "latino",
            "latina",
            "latinx",
            "latine",
            "hispanic or latino",
            "hispanic latino",
            "latino hispanic",
        ),
        HISPANIC,
    ),
    **dict.fromkeys(("white", "caucasian", "white caucasian"), WHITE),
    **dict.fromkeys(("black", "african american", "black or african american", "black african american"), BLACK),
    **dict.fromkeys(
        (
            "pacific islander",
            "native hawaiian",
            "native hawaiian or other pacific islander",
            "native hawaiian or pacific islander",
            "hawaiian",
        ),
        PACIFIC,
    ),
    **dict.fromkeys(("asian", "asian american"), ASIAN),
    **dict.fromkeys(
        (
            "american indian",
            "alaska native",
            "alaskan native",
            "american indian or alaska native",
            "native american",
        ),
        NATIVE,
    ),
    **dict.fromkeys(
        ("two or more", "two or more races", "2 or more races", "mixed", "mixed race", "multiracial", "multi racial"),
        TWO_OR_MORE,
    ),
}
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str | None) -> str:
    """Lower case, punctuation and runs of spaces as one space: "African-American " and
    "african  american" read alike."""
    return _NOT_WORD.sub(" ", (text or "").lower()).strip()


def sex_category(text: str | None) -> str | None:
    """Male, Female, or None (Unknown)."""
    return SEX_ALIASES.get(normalise(text))


def race_category(text: str | None) -> str | None:
    """One of RACE_CATEGORIES, or None (Unknown)."""
    return RACE_ALIASES.get(normalise(text))


# --- the arithmetic ----------------------------------------------------------------------


@dataclass(frozen=True)
class Assessed:
    """One assessed candidate for one role, already mapped: categories (None when
    Unknown) and either a score (scoring rate) or whether they were selected."""

    sex: str | None
    race: str | None
    score: float | None = None
    selected: bool = False


def rounded(value: float | None) -> float | None:
    """4 decimal places, halves up (not float rounding's surprises), None stays None."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-DECIMALS), rounding=ROUND_HALF_UP))


def median_score(people: Sequence[Assessed]) -> float | None:
    """The median over every assessed candidate, Unknowns included (LL144)."""
    scores = [p.score for p in people if p.score is not None]
    return float(statistics.median(scores)) if scores else None


def intersection(sex: str, race: str) -> str:
    return f"{sex} / {race}"


INTERSECTIONS: tuple[str, ...] = tuple(intersection(s, r) for s in SEX_CATEGORIES for r in RACE_CATEGORIES)


def category_rows(groups: Iterable[tuple[str, list[bool]]], assessed: int) -> list[dict[str, Any]]:
    """One row per category from its members' outcomes (True: above the median, or
    selected). A category under 2% of `assessed` (or empty) is shown but left out of
    the impact ratios and of the highest rate they are divided by."""
    raw = []
    for category, outcomes in groups:
        count = len(outcomes)
        rate = sum(outcomes) / count if count else None
        excluded = count == 0 or count < SMALL_CATEGORY_SHARE * assessed
        raw.append((category, count, rate, excluded))
    rates = [rate for _, _, rate, excluded in raw if not excluded and rate is not None]
    highest = max(rates) if rates else None
    rows = []
    for category, count, rate, excluded in raw:
        ratio = rate / highest if (rate is not None and highest and not excluded) else None
        rows.append(
            {
                "category": category,
                "count": count,
                "rate": rounded(rate),
                "impactRatio": rounded(ratio),
                "excludedFromRatio": excluded,
            }
        )
    return rows


def audit(people: Sequence[Assessed], stage: Stage) -> dict[str, Any]:
    """The report's figures: assessed, median (scoring rate), unknown counts and the
    sex, race/ethnicity and intersectional rows."""
    method = method_of(stage)
    median = median_score(people) if method == SCORING_RATE else None

    def outcome(person: Assessed) -> bool:
        if method == SCORING_RATE:
            return median is not None and person.score is not None and person.score > median
        return person.selected

    def members(key: Any, categories: Sequence[str]) -> list[tuple[str, list[bool]]]:
        return [(c, [outcome(p) for p in people if key(p) == c]) for c in categories]

    assessed = len(people)
    figures: dict[str, Any] = {"method": method, "assessed": assessed}
    if method == SCORING_RATE:
        figures["median"] = rounded(median)
    figures["unknown"] = {
        "sex": sum(1 for p in people if p.sex is None),
        "raceEthnicity": sum(1 for p in people if p.race is None),
    }
    figures["sex"] = category_rows(members(lambda p: p.sex, SEX_CATEGORIES), assessed)
    figures["raceEthnicity"] = category_rows(members(lambda p: p.race, RACE_CATEGORIES), assessed)
    # known x known only: a person Unknown on either side is in no intersection
    figures["intersectional"] = category_rows(
        members(lambda p: intersection(p.sex, p.race) if p.sex and p.race else None, INTERSECTIONS), assessed
    )
    return figures


# --- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS = ("dimension", "category", "count", "rate", "impactRatio", "excludedFromRatio")
DIMENSIONS = ("sex", "raceEthnicity", "intersectional")


def csv_cell(value: Any) -> str:
    """null as an empty cell, booleans as true/false (as in the JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
