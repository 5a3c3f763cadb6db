"""Reports for an organisation's admins.

The AI decision log (EU AI Act Art. 12, shared/platform/decision_log.py): the
organisation's rows, newest first, paged by `before` (the last page's
`nextBefore`). The service key, or an `admin`/`org_admin` of the organisation;
a member with another role gets 403; someone who is not a member, or an
organisation that does not exist, 404 (nothing says whether it exists); an
interview of another organisation is a 404 too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shared.adapters.ports import Database
from shared.platform.auth import ORG_ADMIN_ROLES, Caller, require_role
from shared.platform.errors import BadRequest, NotFound
from shared.platform.membership import member_role
from shared.reports import queries
from shared.reports.models import AiDecision, AiDecisionsPage, AiDecisionsQuery

ORGANISATION_NOT_FOUND = "Organisation not found"


def ai_decisions_query(params: Mapping[str, str]) -> AiDecisionsQuery:
    """The query string, checked (400 naming each bad field)."""
    try:
        return AiDecisionsQuery.model_validate(dict(params))
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in error["loc"]) or "query", "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise BadRequest("Invalid query parameters", details=details) from None


async def ai_decisions(db: Database, caller: Caller, query: AiDecisionsQuery) -> AiDecisionsPage:
    async with db.connection() as conn:
        if caller.is_service:
            if not await queries.organisation_exists(conn, query.organisationId):
                raise NotFound(ORGANISATION_NOT_FOUND)
        else:
            role = await member_role(conn, query.organisationId, caller.user_id) if caller.user_id else None
            if role is None:  # not theirs to see, or not there: the same answer
                raise NotFound(ORGANISATION_NOT_FOUND)
            require_role(role, ORG_ADMIN_ROLES, "this organisation")
        if query.interviewId is not None:
            owner = await queries.interview_organisation(conn, query.interviewId)
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
