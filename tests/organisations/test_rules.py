"""Organisations' pure rules (no I/O): the values the interviewer and scoring read."""

import pytest

from shared.organisations.rules import org_values_of


@pytest.mark.parametrize(
    "framework, values",
    [
        (["Innovation", " Care "], ["Innovation", "Care"]),
        ([{"name": "Ownership", "description": "..."}, {"value": "Craft"}, 7], ["Ownership", "Craft"]),
        ({"values": ["Trust"]}, ["Trust"]),
        ({"Courage": "We say it", "Kindness": "..."}, ["Courage", "Kindness"]),
        (None, []),
    ],
)
def test_org_values_from_the_shapes_values_framework_takes(framework, values):
    assert org_values_of(framework) == values
