"""POST /api/ai/score: the request, the 200 body, and the model's structured answer."""

from typing import Annotated, Any, Literal, Required, TypedDict
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from shared.ai.marks import ESSENTIAL, Clamp, Vocabulary
from shared.platform.models import NOT_BLANK, PY_SPACES, ApiModel, Documented
from shared.platform.operation import REQUEST_ID_HEADER, RETRY_AFTER_HEADER, Document, OperationDocs

Text = Annotated[str, StringConstraints(max_length=8000)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
# Dimension names: 1 to 64 printable characters once stripped (checked when the rubric is resolved).
RUBRIC_KEY = {"pattern": rf"^[^\x00-\x1f\x7f{PY_SPACES}][^\x00-\x1f\x7f]{{0,63}}$"}


class TranscriptTurn(ApiModel):
    speaker: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), Documented(pattern=NOT_BLANK)
    ]
    content: Text
    start_time_ms: int | None = None


class Requirements(ApiModel):
    skills: list[ShortText] = Field(default_factory=list, max_length=100)
    experience: list[ShortText] = Field(default_factory=list, max_length=100)
    qualifications: list[ShortText] = Field(default_factory=list, max_length=100)
    responsibilities: list[ShortText] = Field(default_factory=list, max_length=100)
    interviewQuestions: list[ShortText] = Field(default_factory=list, max_length=100)


class RubricEntry(ApiModel):
    # The weights must add up to more than zero (checked when the rubric is resolved);
    # the document asks for each to be positive, which always passes. The bound keeps
    # their sum finite (30 dimensions at most).
    weight: Annotated[float, Field(le=1_000_000), Documented(exclusiveMinimum=0)]
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class ScoreRequest(ApiModel):
    interviewId: UUID
    transcripts: list[TranscriptTurn] | None = Field(default=None, max_length=2000)
    jobTitle: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    jobDescription: Annotated[str, StringConstraints(max_length=50_000)] | None = None
    requirements: Requirements | None = None
    orgValues: list[ShortText] | None = Field(default=None, max_length=50)
    scoringRubric: Annotated[dict[str, RubricEntry] | None, Documented(propertyNames=RUBRIC_KEY)] = Field(
        default=None, max_length=30
    )
    rescore: bool = False  # score again even when a finished score exists


class DimensionScore(ApiModel):
    dimension: str
    score: float
    weight: float
    evidence: str
    cited_quotes: list[str]


class ScoreReview(ApiModel):
    """The latest human review of the score (app.score_reviews)."""

    decision: Literal["confirm", "override"]
    reviewedBy: UUID | None  # the reviewer's user id (null once their account is deleted)
    reviewedAt: str


def _review_needs(schema: dict[str, Any]) -> None:
    # What rules.checked_review enforces, shown in the document (so a request the
    # document calls valid is never a 400): an override names a score and a non-blank
    # reason; a confirmation carries no score.
    schema["oneOf"] = [
        {
            "properties": {
                "decision": {"const": "override"},
                "overallScore": {"type": "integer"},
                "reason": {"type": "string", "pattern": NOT_BLANK},
            },
            "required": ["decision", "overallScore", "reason"],
        },
        {"properties": {"decision": {"const": "confirm"}, "overallScore": {"type": "null"}}, "required": ["decision"]},
    ]


class ReviewRequest(ApiModel):
    """POST /api/ai/score/{interviewId}/review. An override gives the new score and a
    reason; a confirmation gives no score (it keeps the one there) and may give a reason."""

    model_config = ConfigDict(json_schema_extra=_review_needs)

    decision: Literal["confirm", "override"]
    overallScore: Annotated[int, Field(ge=0, le=100)] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ScoreResponse(ApiModel):
    success: bool = True
    interviewId: UUID
    dimensions: list[DimensionScore]
    overall_score: int
    narrative_summary: str
    candidate_feedback: str
    anti_cheat_risk_level: Literal["low", "medium", "high"] | None  # None only on a person's score without one
    anti_cheat_notes: str
    # True when a person has overridden this interview's score: their score is
    # kept and returned, and the AI did not overwrite it.
    humanOverride: bool = False
    message: str | None = None
    # Additive (issue 23): whether a person reviewed this score, and their latest review.
    # A confirmed or overridden score is never replaced by a later AI run.
    humanReviewed: bool = False
    review: ScoreReview | None = None


class ScoringAccepted(ApiModel):
    """202: scoring still runs; poll `statusQueryGetUri` (also the Location header).

    The URL is the app's own authenticated status route, never the Durable
    extension's management URLs: those carry a system key that unlocks every
    orchestration of the app and must not reach a browser."""

    id: str
    statusQueryGetUri: str
    runtimeStatus: str | None = None
    customStatus: dict[str, Any] | None = None


# --- the model's answer (the tool's parameters) ------------------------------------


class ModelDimension(ApiModel):
    # Essential: which dimension and its score. The prompt states the 0 to 10 scale.
    dimension: Annotated[str, ESSENTIAL, Vocabulary("rubric")] = Field(
        description="The rubric dimension key, exactly as given"
    )
    score: Annotated[float, Field(ge=0, le=10), ESSENTIAL, Clamp(1)] = Field(
        description="0 (no evidence) to 10 (outstanding)"
    )
    evidence: str = Field(default="", max_length=4000, description="Why this score, from what the candidate said")
    cited_quotes: list[Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=list,
        max_length=10,
        description="Short verbatim quotes from the candidate's turns that support the score",
    )


class ModelScoring(ApiModel):
    """Without a usable risk level (missing, or not low/medium/high) it is None, as
    for a person's score; the texts default to empty. Only the dimensions are essential."""

    dimensions: list[ModelDimension] = Field(description="One entry per rubric dimension")
    narrative_summary: str = Field(default="", max_length=6000, description="A summary for the recruiter")
    candidate_feedback: str = Field(default="", max_length=4000, description="Constructive feedback for the candidate")
    anti_cheat_risk_level: Literal["low", "medium", "high"] = Field(
        default=None,  # type: ignore[arg-type]  # None when unusable; typed without it so the tool's enum has no null
        description="Risk that the answers were not the candidate's own (read aloud, assisted, pasted)",
    )
    anti_cheat_notes: str = Field(default="", max_length=2000, description="What the risk level is based on")


# --- across the Durable boundary: ids and typed results, never statuses in text --------------


class RubricDimension(TypedDict):
    dimension: str
    label: str
    weight: float  # normalised: the rubric's weights add up to 1


class Turn(TypedDict):
    speaker: str  # "candidate" or "ai"
    content: str


class StepResult(TypedDict):
    ok: bool
    value: Any  # the step's output when ok
    status: int  # the contract's status when not ok
    error: str
    transient: bool  # another attempt may succeed


class RetryPolicy(TypedDict):
    firstRetryIntervalMs: int
    maxAttempts: int


class RunTrace(TypedDict, total=False):
    """Where the run started: the starter's W3C traceparent (activities' spans are its children)
    and the wall-clock start (the run's duration is measured by the step that ends it)."""

    traceparent: str
    startedAt: float
    requestId: str  # the starting request's id: the activities' log lines carry it too


class ScoringContext(TypedDict, total=False):
    """What the model needs besides the transcript (load's output, score's input);
    `humanOverride` (with the id) alone when a person's score stands. Never the
    transcript: the task hub keeps activity inputs and outputs."""

    interviewId: str
    applicationId: str
    organisationId: str  # with candidateId: whom the decision log's rows concern
    candidateId: str
    jobTitle: str | None
    jobDescription: str | None
    requirements: dict[str, Any] | None
    orgValues: list[str]
    rubric: list[RubricDimension]
    rubricVersion: str
    humanOverride: bool
    trace: RunTrace  # the run's trace, passed on by the orchestrator (never stored)


class ScoringSummary(TypedDict):
    """The scoring step's output and the run's: no scores and no words (those are in the database)."""

    success: bool
    interviewId: str
    humanOverride: bool


class ScoredInterview(TypedDict):
    """The model's validated result and what to record with it (inside the scoring step only)."""

    interviewId: str
    applicationId: str
    result: dict[str, Any]
    modelVersion: str
    promptVersion: str
    rubricVersion: str


ORCHESTRATOR = "score_interview_orchestrator"  # the orchestration a ScoringJob starts


class ScoringJob(TypedDict, total=False):
    interviewId: Required[str]
    overrides: Required[dict[str, Any]]  # the request's role fields and rubric (never a transcript)
    retry: Required[RetryPolicy]
    trace: RunTrace


class ScoringDocs(OperationDocs):
    """202 while the run goes on, pointing at the status route."""

    def statuses(self, method: str, statuses: set[int]) -> set[int]:
        return statuses | {202}

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {"202": _scoring_accepted(document)}


def _scoring_accepted(document: Document) -> dict[str, Any]:
    return {
        "description": "Scoring still runs: poll `statusQueryGetUri` (also the Location header)",
        "headers": {
            **REQUEST_ID_HEADER,
            "Location": {
                "description": "The status route, GET /api/ai/score/{interviewId}",
                "required": True,
                "schema": {"type": "string", "format": "uri"},
            },
            "Retry-After": {**RETRY_AFTER_HEADER, "required": True},
        },
        "content": document.json(ScoringAccepted),
    }
