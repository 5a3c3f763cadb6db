"""The bias audit report: who may read it, which candidates it counts, and its
three formats. Self-identification is read, mapped to categories and dropped here:
the answer holds aggregates only, and nothing here logs (docs/REPORTS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from shared.platform.auth import ORG_ADMIN_ROLES, Caller
from shared.platform.errors import Forbidden, NotFound
from shared.platform.membership import member_role
from shared.reports import queries, render, rules
from shared.reports.models import BiasAuditQuery

if TYPE_CHECKING:
    from shared.platform.db import Conn, Database

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
