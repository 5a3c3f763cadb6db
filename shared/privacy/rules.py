"""The data export's document and its plain-language account of each scoring: pure
functions of the rows read (no I/O, no clock: the time is given)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.privacy.models import DataExport, NotIncluded, ScoringAccount
from shared.retention.rules import ExportRule

ABOUT = (
    "This document holds every record Talenti keeps about you, as it was at the time in generatedAt. "
    "Each section of 'data' is one kind of record, as stored. Other people are left out: where someone "
    "at an organisation acted on your records (set or reviewed a score, handled a request), it says "
    "'a person at' that organisation, not who. Invitation links are left out: they are keys to an "
    "interview. 'howYourInterviewWasScored' explains each scored interview. Files are not inside this "
    "document: 'profile' names your CV file and 'interviews' your recordings; you can ask for a copy of them."
)


def _readable(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def _sentence(text: str) -> str:
    """First letter up, the rest as it is (an organisation's name keeps its capitals)."""
    return text[:1].upper() + text[1:]


def _percent(weight: Any) -> str:
    return f"{round(float(weight) * 100)}%" if weight is not None else "unweighted"


def scoring_accounts(data: dict[str, list[dict[str, Any]]]) -> list[ScoringAccount]:
    """One account per scored interview, from the export's own sections (scores, their
    dimensions, reviews, interviews and applications): nothing it says is not in the data."""
    applications = {row["id"]: row for row in data.get("applications", [])}
    interviews = {row["id"]: row for row in data.get("interviews", [])}
    accounts = []
    for score in data.get("scores", []):
        interview_id = score["interview_id"]
        application = applications.get((interviews.get(interview_id) or {}).get("application_id"), {})
        dimensions = [d for d in data.get("scoreDimensions", []) if d["interview_id"] == interview_id]
        reviews = [r for r in data.get("scoreReviews", []) if r["interview_id"] == interview_id]
        latest = reviews[-1] if reviews else None  # the registry orders them by time
        role, organisation = application.get("role_title"), application.get("organisation_name")
        accounts.append(
            ScoringAccount(
                interviewId=interview_id,
                role=role,
                organisation=organisation,
                overallScore=score.get("overall_score"),
                scoredBy=score.get("scored_by_whom"),
                model=score.get("model_version"),
                promptVersion=score.get("prompt_version"),
                rubricVersion=score.get("rubric_version"),
                dimensions=[
                    {"dimension": d["dimension"], "weight": d.get("weight"), "score": d["score"]} for d in dimensions
                ],
                reviewedByAPerson=latest is not None or bool(score.get("human_override")),
                review={
                    "decision": latest["decision"],
                    "reviewedAt": latest["created_at"],
                    "reviewedBy": latest["reviewed_by"],
                }
                if latest
                else None,
                explanation=explain(score, dimensions, latest, role, organisation),
            )
        )
    return accounts


def explain(
    score: dict[str, Any],
    dimensions: list[dict[str, Any]],
    review: dict[str, Any] | None,
    role: str | None,
    organisation: str | None,
) -> str:
    """A few sentences a candidate can read: what scored them, on what, and who checked it."""
    where = f" for {role}" if role else ""
    where += f" at {organisation}" if organisation else ""
    model = score.get("model_version") or "a model whose version was not recorded"
    parts = [
        f"Your interview{where} was scored by the AI model {model} "
        f"(prompt version {score.get('prompt_version') or 'not recorded'}, "
        f"rubric version {score.get('rubric_version') or 'not recorded'}). "
        "It read the transcript of your interview and scored your answers from 0 to 10 on each part of the "
        "rubric, quoting your own words as evidence; quotes not found in what you said were removed. "
        "Your overall score out of 100 is the weighted average of those scores, times ten."
    ]
    if dimensions:
        listed = ", ".join(f"{_readable(d['dimension'])} ({_percent(d.get('weight'))})" for d in dimensions)
        parts.append(f"The parts and their weights: {listed}.")
    if review and review["decision"] == "override":
        parts.append(
            f"{_sentence(review['reviewed_by'])} reviewed the score and changed it to {review['new_score']} "
            f"(the AI had given {review['previous_score']}); their score is the one used."
        )
    elif review:
        parts.append(f"{_sentence(review['reviewed_by'])} reviewed the score and confirmed it.")
    elif score.get("human_override"):
        parts.append(f"The score was then set by {score.get('scored_by_whom') or 'a person'}.")
    else:
        parts.append("No person has reviewed this score yet. You may ask the organisation for a person to review it.")
    parts.append("The AI never rejects an application on its own: decisions are made by people.")
    return " ".join(parts)


def build_document(
    user_id: Any, data: dict[str, list[dict[str, Any]]], rules: tuple[ExportRule, ...], generated_at: datetime
) -> DataExport:
    return DataExport(
        generatedAt=generated_at.isoformat(),
        userId=user_id,
        aboutThisExport=ABOUT,
        data=data,
        howYourInterviewWasScored=scoring_accounts(data),
        notIncluded=[NotIncluded(table=rule.table, why=rule.kept_because) for rule in rules if rule.select is None],
    )
