"""The reports' query parameters, answers and OpenAPI hooks."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.platform.errors import BadRequest
from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs
from shared.reports.rules import FORMATS, STAGES, Format, Stage

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
    def parse(cls, params: Mapping[str, str]) -> BiasAuditQuery:
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


class CategoryRow(BaseModel):
    category: str
    count: int
    rate: float | None  # null: nobody in the category
    impactRatio: float | None  # null: excluded, or the highest rate is 0
    excludedFromRatio: bool


class UnknownCounts(BaseModel):
    sex: int
    raceEthnicity: int


class BiasAuditReport(BaseModel):
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
