"""GET /api/me/data-export: the document."""

from typing import Any, Literal
from uuid import UUID

from shared.platform.models import ApiModel


class DimensionWeight(ApiModel):
    dimension: str
    weight: float | None
    score: float


class ReviewAccount(ApiModel):
    decision: Literal["confirm", "override"]
    reviewedAt: str
    reviewedBy: str  # "a person at <organisation>": never the reviewer's name, email or id


class ScoringAccount(ApiModel):
    """How one interview was scored, in plain language and in fields."""

    interviewId: UUID
    role: str | None
    organisation: str | None
    overallScore: int | None
    scoredBy: str | None  # "the AI model" or "a person at <organisation>"
    model: str | None
    promptVersion: str | None
    rubricVersion: str | None
    dimensions: list[DimensionWeight]
    reviewedByAPerson: bool
    review: ReviewAccount | None
    explanation: str


class NotIncluded(ApiModel):
    table: str
    why: str


class DataExport(ApiModel):
    """Every row about the signed-in user: `data` has one key per table (the registry's
    section names), each an array of rows as stored, less other people's identities and
    secrets (invitation tokens)."""

    generatedAt: str
    userId: UUID
    aboutThisExport: str
    data: dict[str, list[dict[str, Any]]]
    howYourInterviewWasScored: list[ScoringAccount]
    notIncluded: list[NotIncluded]
