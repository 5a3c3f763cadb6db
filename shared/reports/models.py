"""The reports' query parameters, answers and OpenAPI hooks."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.platform.errors import BadRequest
from shared.platform.models import ApiModel
from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs

# The audit's stages (application statuses reached, in order) and its output formats.
Stage = Literal["score", "shortlisted", "invited", "hired"]
Format = Literal["json", "csv", "html"]
STAGES: tuple[Stage, ...] = ("score", "shortlisted", "invited", "hired")
FORMATS: tuple[Format, ...] = ("json", "csv", "html")

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits only


@dataclass(frozen=True)
class BiasAuditQuery:
    """`GET /api/reports/bias-audit`'s query, checked."""

    organisation_id: uuid.UUID
    role_id: uuid.UUID | None = None
    start: date | None = None  # `from`, inclusive (UTC day)
    end: date | None = None  # `to`, inclusive (UTC day)
    stage: Stage = "score"
    format: Format = "json"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "BiasAuditQuery":
        """Every malformed value at once, as the body validation reports them (400).
        `from` after `to` is checked by the service, once the caller may see the
        organisation."""
        problems: list[dict[str, str]] = []

        def uuid_of(name: str, required: bool) -> uuid.UUID | None:
            raw = params.get(name)
            if raw is None or raw == "":
                if required:
                    problems.append({"field": name, "message": "Field required"})
                return None
            try:
                return uuid.UUID(raw)
            except ValueError:
                problems.append({"field": name, "message": "Must be a UUID"})
                return None

        def date_of(name: str) -> date | None:
            raw = params.get(name)
            if raw is None or raw == "":
                return None
            try:
                if not _DATE.match(raw):
                    raise ValueError
                return date.fromisoformat(raw)
            except ValueError:
                problems.append({"field": name, "message": "Must be a date, YYYY-MM-DD"})
                return None

        def choice_of(name: str, allowed: tuple[str, ...], default: str) -> str:
            raw = params.get(name) or default
            if raw not in allowed:
                problems.append({"field": name, "message": f"Must be one of: {', '.join(allowed)}"})
                return default
            return raw

        organisation = uuid_of("organisationId", True)
        query = cls(
            organisation_id=organisation or uuid.UUID(int=0),
            role_id=uuid_of("roleId", False),
            start=date_of("from"),
            end=date_of("to"),
            stage=choice_of("stage", STAGES, "score"),  # type: ignore[arg-type]
            format=choice_of("format", FORMATS, "json"),  # type: ignore[arg-type]
        )
        if problems:
            raise BadRequest("Invalid query parameters", details=problems)
        return query

    def check_period(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise BadRequest(
                "`from` must not be after `to`", details=[{"field": "from", "message": "Must not be after `to`"}]
            )


class CategoryRow(ApiModel):
    category: str
    count: int
    rate: float | None  # null: nobody in the category
    impactRatio: float | None  # null: excluded, or the highest rate is 0
    excludedFromRatio: bool


class UnknownCounts(ApiModel):
    sex: int
    raceEthnicity: int


class BiasAuditReport(ApiModel):
    """Aggregates only: no person, no id but the organisation's and the role's."""

    organisationId: str
    roleId: str | None
    stage: Stage
    method: Literal["scoring_rate", "selection_rate"]
    from_: str | None = Field(alias="from")  # a Python keyword: the field's name is `from`
    to: str | None
    assessed: int
    median: float | None = None  # scoring rate only
    unknown: UnknownCounts
    sex: list[CategoryRow]
    raceEthnicity: list[CategoryRow]
    intersectional: list[CategoryRow]
    generatedAt: str

    model_config = ConfigDict(populate_by_name=True)


class BiasAuditDocs(OperationDocs):
    """Its query parameters, and a 200 in three formats."""

    def parameters(self, method: str) -> list[dict[str, Any]]:
        def query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
            return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}

        return [
            query("organisationId", {"type": "string", "format": "uuid"}, "The organisation audited", True),
            query("roleId", {"type": "string", "format": "uuid"}, "One of its roles (default: all of them)"),
            query("from", {"type": "string", "format": "date"}, "First day of the period, UTC, inclusive"),
            query("to", {"type": "string", "format": "date"}, "Last day of the period, UTC, inclusive"),
            query(
                "stage",
                {"type": "string", "enum": list(STAGES), "default": "score"},
                "score: scoring rate on interview scores; otherwise the selection rate of that status",
            ),
            query("format", {"type": "string", "enum": list(FORMATS), "default": "json"}, "json, csv or html"),
        ]

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "The report: aggregates by sex, race/ethnicity and their intersection",
                "headers": dict(REQUEST_ID_HEADER),
                "content": {
                    JSON: {"schema": document.ref(BiasAuditReport)},
                    "text/csv": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            }
        }


# --- the AI decision log ------------------------------------------------------------

# --- the AI decision log (GET /api/reports/ai-decisions) ------------------------------

AI_DECISIONS_DEFAULT_LIMIT = 50
AI_DECISIONS_MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1  # app.ai_decisions.id is a bigint: a larger cursor is a 400, not a database error


class AiDecisionsQuery(ApiModel):
    """The query string of GET /api/reports/ai-decisions."""

    model_config = ConfigDict(extra="ignore")

    organisationId: UUID
    interviewId: UUID | None = None
    limit: int = Field(default=AI_DECISIONS_DEFAULT_LIMIT, ge=1, le=AI_DECISIONS_MAX_LIMIT)
    before: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="`nextBefore` of the previous page")


class AiDecision(ApiModel):
    """One row of the decision log: facts about one model call about one candidate; never text."""

    id: int
    callId: UUID  # rows of one call (a shortlist: one per candidate) share it
    occurredAt: datetime  # when the call's first request was sent
    purpose: str
    organisationId: UUID | None
    candidateId: UUID
    interviewId: UUID | None
    model: str
    promptVersion: str
    rubricVersion: str | None
    inputSha256: str
    outcome: Literal["ok", "repaired", "refused", "failed"]
    inputTokens: int | None  # the call's, not the row's: sum them per callId
    outputTokens: int | None
    latencyMs: int


class AiDecisionsPage(ApiModel):
    organisationId: UUID
    interviewId: UUID | None
    decisions: list[AiDecision]
    nextBefore: int | None  # pass as `before` for the next (older) page; null on the last


class AiDecisionsDocs(OperationDocs):
    """The query parameters for the OpenAPI document."""

    def parameters(self, method: str) -> list[dict[str, Any]]:
        uuid_schema = {"type": "string", "format": "uuid"}
        return [
            {"name": "organisationId", "in": "query", "required": True, "schema": uuid_schema},
            {
                "name": "interviewId",
                "in": "query",
                "required": False,
                "description": "Only this interview's calls (it must belong to the organisation)",
                "schema": uuid_schema,
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": AI_DECISIONS_MAX_LIMIT,
                    "default": AI_DECISIONS_DEFAULT_LIMIT,
                },
            },
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "The previous page's nextBefore: rows older than it",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
            },
        ]


# --- AI usage (issue 24) ---------------------------------------------------------------

AI_USAGE_MAX_DAYS = 366  # one report covers at most a year of days


class AiUsageQuery(ApiModel):
    """The query string of GET /api/reports/ai-usage: whole UTC days, both ends included."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    organisationId: UUID
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    def check_period(self) -> None:
        if self.start > self.end:
            raise BadRequest("Invalid query parameters", details=[{"field": "from", "message": "after `to`"}])
        if (self.end - self.start).days >= AI_USAGE_MAX_DAYS:
            raise BadRequest(
                "Invalid query parameters",
                details=[{"field": "to", "message": f"at most {AI_USAGE_MAX_DAYS} days after `from`"}],
            )


class AiUsageFigures(ApiModel):
    """Calls, the provider's token counts and the cost estimated at each call's time."""

    calls: int
    inputTokens: int
    outputTokens: int
    estimatedCost: float  # USD, to the millionth


class AiUsageDay(AiUsageFigures):
    date: date  # UTC day
    purpose: str  # the AI client's purpose key (interviewer, parse_resume, score, ...)


class AiBudget(ApiModel):
    """This UTC month's budget now, whatever the period asked for."""

    month: date  # the month's first day
    monthlyLimit: float | None  # USD; null = unlimited
    spentThisMonth: float  # settled calls
    reservedThisMonth: float  # held by calls in flight


class AiUsageReport(ApiModel):
    organisationId: UUID
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    currency: Literal["USD"] = "USD"
    days: list[AiUsageDay]  # by date, then purpose; days without calls are left out
    totals: AiUsageFigures
    budget: AiBudget

    # Built by field name, answered (and documented) as `from` and `to`.
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class AiUsageDocs(OperationDocs):
    """The query parameters for the OpenAPI document."""

    def parameters(self, method: str) -> list[dict[str, Any]]:
        day = {"type": "string", "format": "date"}
        return [
            {"name": "organisationId", "in": "query", "required": True, "schema": {"type": "string", "format": "uuid"}},
            {"name": "from", "in": "query", "required": True, "description": "First UTC day, included", "schema": day},
            {
                "name": "to",
                "in": "query",
                "required": True,
                "description": f"Last UTC day, included (at most {AI_USAGE_MAX_DAYS} days after from)",
                "schema": day,
            },
        ]
