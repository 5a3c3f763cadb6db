"""Reports for an organisation's admins.

The bias audit: who may read it, which candidates it counts, and its three
formats. Self-identification is read, mapped to categories and dropped here: the
answer holds aggregates only, and nothing here logs (docs/REPORTS.md).

The AI decision log (EU AI Act Art. 12, shared/platform/decision_log.py): the
organisation's rows, newest first, paged by `before` (the last page's
`nextBefore`). The service key, or an `admin`/`org_admin` of the organisation;
a member with another role gets 403; someone who is not a member, or an
organisation that does not exist, 404 (nothing says whether it exists); an
interview of another organisation is a 404 too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from shared.adapters.ports import Database
from shared.platform.ai_usage import UsageLedger
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.errors import BadRequest, Forbidden, NotFound
from shared.platform.membership import interview_organisation, member_role
from shared.reports import queries, render, rules
from shared.reports.models import (
    AiBudget,
    AiDecision,
    AiDecisionsPage,
    AiDecisionsQuery,
    AiUsageDay,
    AiUsageFigures,
    AiUsageQuery,
    AiUsageReport,
    BiasAuditQuery,
)

if TYPE_CHECKING:
    from shared.platform.db import Conn

HTML_HEADERS = {
    # The page loads nothing: no script, no font, no request of any kind; inline
    # styles only. Opened from a mail or a shared drive it stays inert.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Rendered:
    """A report in CSV or HTML, with its media type and headers."""

    content: str
    media_type: str
    headers: dict[str, str]


async def authorise(conn: Conn, caller: Caller, organisation_id: Any) -> None:
    """The service key, or an admin/org_admin of the organisation. Another member, or a
    candidate who applied there, is refused (403); anyone else is not told the
    organisation exists (404), nor is the service key when it does not."""
    if caller.is_service:
        if not await queries.organisation_exists(conn, organisation_id):
            raise NotFound("Organisation not found")
        return
    user = caller.user_id
    role = await member_role(conn, organisation_id, user) if user else None
    if role is None:
        if user and await queries.applied_to_organisation(conn, organisation_id, user):
            raise Forbidden("Only the organisation's admins may read its bias audit")
        raise NotFound("Organisation not found")
    if role not in ORG_ADMIN_ROLES:
        raise Forbidden(f"Your role ({role}) may not read the organisation's bias audit")


def period_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days, both ends included: [start 00:00, the day after end 00:00)."""
    lower = datetime.combine(start, time(), UTC) if start else None
    # the last representable day has no day after it: no upper bound then
    upper = datetime.combine(end + timedelta(days=1), time(), UTC) if end and end < date.max else None
    return lower, upper


async def bias_audit(db: Database, caller: Caller, query: BiasAuditQuery) -> dict[str, Any]:
    """The report as JSON (BiasAuditReport's shape)."""
    lower, upper = period_bounds(query.start, query.end)
    async with db.connection() as conn:
        await authorise(conn, caller, query.organisation_id)
        query.check_period()
        if query.role_id is not None and not await queries.role_in_organisation(
            conn, query.role_id, query.organisation_id
        ):
            raise NotFound("Role not found")
        if query.stage == "score":
            rows = await queries.scored_candidates(conn, query.organisation_id, query.role_id, lower, upper)
        else:
            rows = await queries.applicants(conn, query.organisation_id, query.role_id, lower, upper)
    people = [
        rules.Assessed(
            sex=rules.sex_category(row["gender"]),
            race=rules.race_category(row["ethnicity"]),
            score=row.get("overall_score"),
            selected=rules.reached(row.get("status"), query.stage),
        )
        for row in rows
    ]
    del rows  # the free text goes no further
    figures = rules.audit(people, query.stage)
    return {
        "organisationId": str(query.organisation_id),
        "roleId": str(query.role_id) if query.role_id else None,
        "stage": query.stage,
        "method": figures["method"],
        "from": query.start.isoformat() if query.start else None,
        "to": query.end.isoformat() if query.end else None,
        "assessed": figures["assessed"],
        **({"median": figures["median"]} if "median" in figures else {}),
        "unknown": figures["unknown"],
        "sex": figures["sex"],
        "raceEthnicity": figures["raceEthnicity"],
        "intersectional": figures["intersectional"],
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def rendered(report: dict[str, Any], format: str) -> Rendered:
    """The report as CSV or HTML."""
    stamp = report["generatedAt"][:10]
    if format == "csv":
        return Rendered(
            render.csv_text(report),
            "text/csv; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="bias-audit-{stamp}.csv"', "Cache-Control": "no-store"},
        )
    return Rendered(render.html_page(report), "text/html; charset=utf-8", dict(HTML_HEADERS))


# --- the AI decision log ------------------------------------------------------------

ORGANISATION_NOT_FOUND = "Organisation not found"
Q = TypeVar("Q", AiDecisionsQuery, AiUsageQuery)


def ai_decisions_query(params: Mapping[str, str]) -> AiDecisionsQuery:
    """The query string, checked (400 naming each bad field)."""
    return _query(AiDecisionsQuery, params)


def _query(model: type[Q], params: Mapping[str, str]) -> Q:
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in error["loc"]) or "query", "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise BadRequest("Invalid query parameters", details=details) from None


async def ai_decisions(db: Database, caller: Caller, query: AiDecisionsQuery) -> AiDecisionsPage:
    async with db.connection() as conn:
        await _authorise_ai_log(conn, caller, query.organisationId)
        if query.interviewId is not None:
            owner = await interview_organisation(conn, query.interviewId)
            if owner is None or str(owner) != str(query.organisationId):
                raise NotFound("Interview not found")
        rows = await queries.ai_decisions_page(
            conn, query.organisationId, query.interviewId, query.before, query.limit + 1
        )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return AiDecisionsPage(
        organisationId=query.organisationId,
        interviewId=query.interviewId,
        decisions=[_decision(row) for row in rows],
        nextBefore=rows[-1]["id"] if more else None,
    )


async def _authorise_ai_log(conn: Conn, caller: Caller, organisation_id: Any) -> None:
    """The AI logs' readers (decisions and usage): the service key, or an admin/org_admin
    of the organisation; another member 403; anyone else, or no such organisation, 404."""
    if caller.is_service:
        if not await queries.organisation_exists(conn, organisation_id):
            raise NotFound(ORGANISATION_NOT_FOUND)
        return
    role = await member_role(conn, organisation_id, caller.user_id) if caller.user_id else None
    if role is None:  # not theirs to see, or not there: the same answer
        raise NotFound(ORGANISATION_NOT_FOUND)
    require_role(role, ORG_ADMIN_ROLES, "this organisation")


def _decision(row: dict[str, Any]) -> AiDecision:
    return AiDecision(
        id=row["id"],
        callId=row["call_id"],
        occurredAt=row["occurred_at"],
        purpose=row["purpose"],
        organisationId=row["organisation_id"],
        candidateId=row["candidate_id"],
        interviewId=row["interview_id"],
        model=row["model"],
        promptVersion=row["prompt_version"],
        rubricVersion=row["rubric_version"],
        inputSha256=row["input_sha256"],
        outcome=row["outcome"],
        inputTokens=row["input_tokens"],
        outputTokens=row["output_tokens"],
        latencyMs=row["latency_ms"],
    )


# --- AI usage (issue 24, shared/platform/ai_usage.py) ------------------------------------


def ai_usage_query(params: Mapping[str, str]) -> AiUsageQuery:
    """The query string, checked (400 naming each bad field, or a period the wrong way round)."""
    query = _query(AiUsageQuery, params)
    query.check_period()
    return query


async def ai_usage(db: Database, usage: UsageLedger, caller: Caller, query: AiUsageQuery) -> AiUsageReport:
    """The organisation's model calls per UTC day and purpose, their totals, and this
    month's budget (who may read it: as the decision log)."""
    lower, upper = period_bounds(query.start, query.end)
    async with db.connection() as conn:
        await _authorise_ai_log(conn, caller, query.organisationId)
        rows = await queries.ai_usage_by_day(conn, query.organisationId, lower, upper)
        month, limit, spent, reserved = await usage.budget(conn, query.organisationId)
    days = [
        AiUsageDay(
            date=row["day"],
            purpose=row["purpose"],
            calls=int(row["calls"]),
            inputTokens=int(row["input_tokens"]),
            outputTokens=int(row["output_tokens"]),
            estimatedCost=_usd(row["cost"]),
        )
        for row in rows
    ]
    totals = AiUsageFigures(
        calls=sum(d.calls for d in days),
        inputTokens=sum(d.inputTokens for d in days),
        outputTokens=sum(d.outputTokens for d in days),
        estimatedCost=_usd(sum((Decimal(str(row["cost"])) for row in rows), Decimal(0))),
    )
    return AiUsageReport(
        organisationId=query.organisationId,
        start=query.start,
        end=query.end,
        days=days,
        totals=totals,
        budget=AiBudget(
            month=month,
            monthlyLimit=None if limit is None else _usd(limit),
            spentThisMonth=_usd(spent),
            reservedThisMonth=_usd(reserved),
        ),
    )


def _usd(value: Any) -> float:
    return round(float(value), 6)
