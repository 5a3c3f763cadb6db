"""The export's plain-language account of a scoring: pure, from the export's own rows."""

from datetime import UTC, datetime

import pytest

from shared.privacy.rules import build_document, explain
from shared.retention.rules import EXPORT_RULES

pytestmark = pytest.mark.unit

SCORE = {
    "interview_id": "00000000-0000-0000-0000-000000000001",
    "overall_score": 64,
    "model_version": "gpt-scoring-1",
    "prompt_version": "score-v3",
    "rubric_version": "default-v1",
    "scored_by_whom": "the AI model",
    "human_override": False,
}
DIMENSIONS = [
    {"interview_id": SCORE["interview_id"], "dimension": "technical_skills", "weight": 0.2, "score": 7},
    {"interview_id": SCORE["interview_id"], "dimension": "communication", "weight": 0.15, "score": 6},
]


def test_an_unreviewed_score_names_model_prompt_rubric_and_weights_and_says_no_person_reviewed_it():
    text = explain(SCORE, DIMENSIONS, None, "Engineer", "Acme")
    assert "for Engineer at Acme" in text and "gpt-scoring-1" in text and "score-v3" in text and "default-v1" in text
    assert "Technical skills (20%), Communication (15%)" in text
    assert "No person has reviewed this score yet" in text


def test_an_override_says_who_by_organisation_and_both_scores():
    review = {"decision": "override", "new_score": 40, "previous_score": 64, "reviewed_by": "a person at Acme"}
    text = explain(SCORE, DIMENSIONS, review, None, None)
    assert "A person at Acme reviewed the score and changed it to 40 (the AI had given 64)" in text


def test_a_confirmation_and_a_frontend_override_without_a_review_row():
    review = {"decision": "confirm", "new_score": 64, "previous_score": 64, "reviewed_by": "a person at Acme"}
    assert "reviewed the score and confirmed it" in explain(SCORE, [], review, None, None)
    overridden = {**SCORE, "human_override": True, "scored_by_whom": "a person at Acme"}
    assert "set by a person at Acme" in explain(overridden, [], None, None, None)


def test_the_document_accounts_for_each_scored_interview_from_its_sections():
    data = {
        "applications": [{"id": "a1", "role_title": "Engineer", "organisation_name": "Acme"}],
        "interviews": [{"id": SCORE["interview_id"], "application_id": "a1"}],
        "scores": [SCORE],
        "scoreDimensions": DIMENSIONS,
        "scoreReviews": [],
    }
    document = build_document(
        "00000000-0000-0000-0000-0000000000aa", data, EXPORT_RULES, datetime(2026, 12, 1, tzinfo=UTC)
    )
    [account] = document.howYourInterviewWasScored
    assert (account.role, account.organisation, account.model) == ("Engineer", "Acme", "gpt-scoring-1")
    assert not account.reviewedByAPerson and account.review is None
    assert document.generatedAt == "2026-12-01T00:00:00+00:00"
    assert [n.table for n in document.notIncluded] == ["app.erased_calls", "app.rate_limit_counters"]
