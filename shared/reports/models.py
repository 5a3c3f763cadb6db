"""The shapes of the reports' requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.platform.operation import OperationDocs

# --- the AI decision log (GET /api/reports/ai-decisions) ------------------------------

AI_DECISIONS_DEFAULT_LIMIT = 50
AI_DECISIONS_MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1  # app.ai_decisions.id is a bigint: a larger cursor is a 400, not a database error


class AiDecisionsQuery(BaseModel):
    """The query string of GET /api/reports/ai-decisions."""

    model_config = ConfigDict(extra="ignore")

    organisationId: UUID
    interviewId: UUID | None = None
    limit: int = Field(default=AI_DECISIONS_DEFAULT_LIMIT, ge=1, le=AI_DECISIONS_MAX_LIMIT)
    before: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="`nextBefore` of the previous page")


class AiDecision(BaseModel):
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


class AiDecisionsPage(BaseModel):
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
