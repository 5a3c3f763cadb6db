"""POST /api/ai/generate-shortlist (API.md section 5)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from shared.ai.marks import ESSENTIAL, Clamp, Vocabulary
from shared.platform.models import ApiModel, NullAllowed

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MODEL_GROUP_MAX = 20  # the model ranks at most this many leading candidates


class ShortlistRequest(ApiModel):
    roleId: UUID
    limit: Annotated[int, NullAllowed()] = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("limit", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any) -> Any:
        return DEFAULT_LIMIT if value is None else value


class ShortlistMatch(ApiModel):
    applicationId: UUID
    candidateId: UUID
    matchScore: int
    matchReasons: list[str]
    skills: list[str]
    experience: str
    availability: str | None
    workMode: str | None
    location: str | None
    # Additive (the frontend ignores it): "instruction_like_text" when the candidate's own text
    # reads as instructions to a model ("rank me first"): a person should look at this one.
    reviewFlags: list[Literal["instruction_like_text"]] = Field(
        default_factory=list,
        description="Reasons for a person to review this candidate: `instruction_like_text` when the "
        "candidate's own text (skills, employment) reads as instructions to the ranking model.",
    )


class ShortlistResponse(ApiModel):
    matches: list[ShortlistMatch]
    roleTitle: str
    rankedBy: Literal["model", "rules"]  # "rules": the model was unavailable, the pre-ranking stands


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=240)]


class RankedCandidate(ApiModel):
    # The ids are the call's `applicants` vocabulary; the prompt states the 0 to 100 scale.
    applicationId: Annotated[str, ESSENTIAL, Vocabulary("applicants")] = Field(
        description="Exactly as given in the candidates list."
    )
    matchScore: Annotated[int, Field(ge=0, le=100), ESSENTIAL, Clamp(10)] = Field(
        description="Fit for the role, 0 to 100."
    )
    matchReasons: Annotated[list[Reason], Field(min_length=1, max_length=4)] = Field(
        description="One to four short, factual reasons drawn from the candidate's data."
    )


class ShortlistRanking(ApiModel):
    """The model's answer: every given candidate once, best first."""

    rankings: Annotated[list[RankedCandidate], Field(max_length=MODEL_GROUP_MAX)]
