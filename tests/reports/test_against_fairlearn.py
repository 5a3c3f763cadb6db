"""The selection and scoring rates against fairlearn's selection_rate, an independent
implementation (a dev-only dependency: requirements-dev.txt; it pulls pandas and
scipy, so the app never imports it)."""

from __future__ import annotations

import random

import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate

from shared.reports import rules
from shared.reports.rules import Assessed

pytestmark = pytest.mark.unit


def population(seed: int, size: int) -> list[Assessed]:
    generator = random.Random(seed)
    return [
        Assessed(
            sex=generator.choice(rules.SEX_CATEGORIES),
            race=generator.choice(rules.RACE_CATEGORIES[:4]),
            score=generator.randint(0, 100),
            selected=generator.random() < (0.3 if n % 3 else 0.6),
        )
        for n in range(size)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_selection_rates_match_fairlearn(seed):
    people = population(seed, 400)
    report = rules.audit(people, "hired")
    chosen = [int(p.selected) for p in people]
    for dimension, key in (("sex", lambda p: p.sex), ("raceEthnicity", lambda p: p.race)):
        frame = MetricFrame(
            metrics=selection_rate, y_true=chosen, y_pred=chosen, sensitive_features=[key(p) for p in people]
        )
        theirs = frame.by_group.to_dict()
        ours = {r["category"]: r["rate"] for r in report[dimension] if r["count"]}
        assert ours == {category: round(rate, 4) for category, rate in theirs.items()}
        # fairlearn's demographic parity ratio is the lowest rate over the highest: our lowest impact ratio
        ratio = demographic_parity_ratio(chosen, chosen, sensitive_features=[key(p) for p in people])
        lowest = min(r["impactRatio"] for r in report[dimension] if r["impactRatio"] is not None)
        assert lowest == pytest.approx(ratio, abs=1e-4)


def test_scoring_rates_match_fairlearn_on_above_the_median():
    people = population(7, 300)
    report = rules.audit(people, "score")
    median = report["median"]
    above = [int(p.score > median) for p in people]
    frame = MetricFrame(metrics=selection_rate, y_true=above, y_pred=above, sensitive_features=[p.sex for p in people])
    assert {r["category"]: r["rate"] for r in report["sex"]} == {
        category: round(rate, 4) for category, rate in frame.by_group.to_dict().items()
    }
