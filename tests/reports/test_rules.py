"""The bias audit's rules on plain values: the mapping, the status order and the
arithmetic of the scoring and selection rates (no I/O)."""

from __future__ import annotations

import pytest

from shared.reports import rules
from shared.reports.models import STAGES
from shared.reports.rules import ASIAN, BLACK, FEMALE, HISPANIC, MALE, TWO_OR_MORE, WHITE, Assessed

pytestmark = pytest.mark.unit


def row(rows, category):
    return next(r for r in rows if r["category"] == category)


def worked_example() -> list[Assessed]:
    """Issue 23's example: men 5, 6, 7, 8; women 1, 2, 3, 9; two Unknowns 4 and 10."""
    men = [Assessed(MALE, WHITE, score=s) for s in (5, 6, 7, 8)]
    women = [Assessed(FEMALE, ASIAN, score=s) for s in (1, 2, 3, 9)]
    unknown = [Assessed(None, None, score=4), Assessed(None, None, score=10)]
    return men + women + unknown


def test_the_worked_example():
    report = rules.audit(worked_example(), "score")
    assert report["method"] == "scoring_rate"
    assert report["assessed"] == 10
    assert report["median"] == 5.5  # over all ten, the Unknowns included
    assert report["unknown"] == {"sex": 2, "raceEthnicity": 2}
    male, female = row(report["sex"], MALE), row(report["sex"], FEMALE)
    assert male == {"category": MALE, "count": 4, "rate": 0.75, "impactRatio": 1.0, "excludedFromRatio": False}
    assert female == {"category": FEMALE, "count": 4, "rate": 0.25, "impactRatio": 0.3333, "excludedFromRatio": False}
    # the Unknown scoring 10 is above the median but in no rate: 3 of 8 known are above it
    assert sum(r["count"] for r in report["sex"]) == 8
    assert row(report["intersectional"], f"{FEMALE} / {ASIAN}")["impactRatio"] == 0.3333
    assert row(report["intersectional"], f"{MALE} / {ASIAN}") == {
        "category": f"{MALE} / {ASIAN}",
        "count": 0,
        "rate": None,
        "impactRatio": None,
        "excludedFromRatio": True,
    }


def test_a_score_equal_to_the_median_is_not_above_it():
    people = [Assessed(MALE, WHITE, score=s) for s in (1, 5, 9)] + [Assessed(FEMALE, WHITE, score=5)]
    report = rules.audit(people, "score")
    assert report["median"] == 5
    assert row(report["sex"], MALE)["rate"] == 0.3333  # only the 9
    assert row(report["sex"], FEMALE)["rate"] == 0.0
    assert row(report["sex"], FEMALE)["impactRatio"] == 0.0


def test_selection_rate_variant():
    """Shortlisted: 3 of 5 men, 1 of 4 women reached the stage; Unknowns never count."""
    people = [Assessed(MALE, BLACK, selected=s) for s in (True, True, True, False, False)]
    people += [Assessed(FEMALE, HISPANIC, selected=s) for s in (True, False, False, False)]
    people += [Assessed(None, BLACK, selected=True), Assessed(FEMALE, None, selected=True)]
    report = rules.audit(people, "shortlisted")
    assert report["method"] == "selection_rate" and "median" not in report
    assert report["unknown"] == {"sex": 1, "raceEthnicity": 1}
    assert row(report["sex"], MALE)["rate"] == 0.6
    assert row(report["sex"], FEMALE) == {
        "category": FEMALE,
        "count": 5,
        "rate": 0.4,
        "impactRatio": 0.6667,
        "excludedFromRatio": False,
    }
    assert row(report["raceEthnicity"], BLACK)["rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert row(report["raceEthnicity"], HISPANIC)["impactRatio"] == round(0.25 / (4 / 6), 4)
    assert (
        row(report["intersectional"], f"{MALE} / {BLACK}")["count"] == 5
    )  # the Unknown-sex Black candidate is in none


def test_rounding_is_four_places_half_up():
    assert rules.rounded(1 / 3) == 0.3333
    assert rules.rounded(2 / 3) == 0.6667
    assert rules.rounded(0.00005) == 0.0001  # float rounding would give 0.0001 or 0.0 by accident
    assert rules.rounded(0.12345) == 0.1235
    assert rules.rounded(None) is None


def test_a_category_under_two_percent_is_shown_but_not_a_ratio_nor_the_highest():
    # 1 Asian of 60 (1.7%) who scored top; 30 White, 29 Black
    people = [Assessed(None, ASIAN, score=100)]
    people += [Assessed(None, WHITE, score=s) for s in range(30, 60)]
    people += [Assessed(None, BLACK, score=s) for s in range(0, 29)]
    report = rules.audit(people, "score")
    asian = row(report["raceEthnicity"], ASIAN)
    assert asian == {"category": ASIAN, "count": 1, "rate": 1.0, "impactRatio": None, "excludedFromRatio": True}
    white = row(report["raceEthnicity"], WHITE)
    assert white["impactRatio"] == 1.0  # the highest among included categories, not the Asian 1.0
    assert white["rate"] < 1.0
    # exactly 2% is not "under": 1 of 50 stays in
    people = [Assessed(None, ASIAN, score=100)] + [Assessed(None, WHITE, score=s) for s in range(49)]
    assert row(rules.audit(people, "score")["raceEthnicity"], ASIAN)["excludedFromRatio"] is False


def test_all_unknown_counts_them_and_computes_no_rate():
    people = [Assessed(None, None, score=s) for s in (10, 20, 30)]
    report = rules.audit(people, "score")
    assert report["assessed"] == 3 and report["median"] == 20
    assert report["unknown"] == {"sex": 3, "raceEthnicity": 3}
    for dimension in rules.DIMENSIONS:
        assert all(r["count"] == 0 and r["rate"] is None and r["impactRatio"] is None for r in report[dimension])


def test_an_empty_period():
    for stage in STAGES:
        report = rules.audit([], stage)
        assert report["assessed"] == 0 and report["unknown"] == {"sex": 0, "raceEthnicity": 0}
        assert report.get("median") is None
        assert [r["category"] for r in report["sex"]] == [MALE, FEMALE]
        assert len(report["raceEthnicity"]) == 7 and len(report["intersectional"]) == 14


def test_highest_rate_zero_gives_no_ratio():
    people = [Assessed(MALE, WHITE, selected=False), Assessed(FEMALE, WHITE, selected=False)]
    report = rules.audit(people, "hired")
    assert [r["rate"] for r in report["sex"]] == [0.0, 0.0]
    assert [r["impactRatio"] for r in report["sex"]] == [None, None]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("man", MALE),
        ("Male", MALE),
        (" M ", MALE),
        ("WOMAN", FEMALE),
        ("female", FEMALE),
        ("f", FEMALE),
        ("non-binary", None),
        ("Prefer not to say", None),
        ("", None),
        (None, None),
    ],
)
def test_sex_mapping(text, category):
    assert rules.sex_category(text) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Latino", HISPANIC),
        ("latinx", HISPANIC),
        ("Hispanic", HISPANIC),
        ("Hispanic or Latino", HISPANIC),
        ("Black", BLACK),
        ("African-American", BLACK),
        ("african  american", BLACK),
        ("Asian", ASIAN),
        ("White", WHITE),
        ("Caucasian", WHITE),
        ("Pacific Islander", rules.PACIFIC),
        ("Native Hawaiian", rules.PACIFIC),
        ("American Indian", rules.NATIVE),
        ("Alaska Native", rules.NATIVE),
        ("Two or more", TWO_OR_MORE),
        ("Two or More Races", TWO_OR_MORE),
        ("Mixed", TWO_OR_MORE),
        ("Multiracial", TWO_OR_MORE),
        ("prefer not to say", None),
        ("Declined", None),
        ("Martian", None),
        (None, None),
    ],
)
def test_race_mapping(text, category):
    assert rules.race_category(text) == category


def test_every_alias_maps_to_a_reported_category():
    assert set(rules.SEX_ALIASES.values()) == set(rules.SEX_CATEGORIES)
    assert set(rules.RACE_ALIASES.values()) == set(rules.RACE_CATEGORIES)
    assert all(alias == rules.normalise(alias) for alias in [*rules.SEX_ALIASES, *rules.RACE_ALIASES])


@pytest.mark.parametrize(
    ("status", "shortlisted", "invited", "hired"),
    [
        ("applied", False, False, False),
        ("screening", False, False, False),
        ("invited", False, True, False),
        ("interviewing", False, True, False),
        ("interviewed", False, True, False),
        ("shortlisted", True, True, False),
        ("hired", True, True, True),
        ("rejected", False, False, False),
        ("withdrawn", False, False, False),
        (None, False, False, False),
    ],
)
def test_status_order(status, shortlisted, invited, hired):
    assert rules.reached(status, "shortlisted") is shortlisted
    assert rules.reached(status, "invited") is invited
    assert rules.reached(status, "hired") is hired
