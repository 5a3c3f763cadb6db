"""Reports for audits, for an organisation's admins or the service key:
GET /api/reports/bias-audit (aggregates by sex, race/ethnicity and their
intersection, as JSON, CSV or HTML), GET /api/reports/ai-decisions (the AI
decision log, EU AI Act Art. 12) and GET /api/reports/ai-usage (model calls,
tokens and estimated cost per day and purpose, and the month's budget)."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform.buckets import Bucket
from shared.platform.http import USER_OR_SERVICE, Call, api
from shared.reports.models import (
    AiDecisionsDocs,
    AiDecisionsPage,
    AiUsageDocs,
    AiUsageReport,
    BiasAuditDocs,
    BiasAuditQuery,
    BiasAuditReport,
)

bp = func.Blueprint()


@api(
    bp,
    "reports/bias-audit",
    methods=("GET",),
    auth=USER_OR_SERVICE,
    response=BiasAuditReport,
    rate_limit=Bucket.REPORTS_BIAS_AUDIT,
    errors=(400, 403, 404),
    docs=BiasAuditDocs(),
)
async def bias_audit_report(call: Call) -> Any:
    """The organisation's bias audit: scoring or selection rates and impact ratios."""
    from shared.reports import service as reports

    query = BiasAuditQuery.parse(call.request.query_params)
    report = await reports.bias_audit(call.services.db, call.principal, query)
    if query.format == "json":
        return report
    page = reports.rendered(report, query.format)
    return Response(page.content, media_type=page.media_type, headers=page.headers)


@api(
    bp,
    "reports/ai-decisions",
    methods=("GET",),
    auth=USER_OR_SERVICE,
    response=AiDecisionsPage,
    rate_limit=Bucket.REPORTS_AI_DECISIONS,
    errors=(400, 403, 404),
    docs=AiDecisionsDocs(),
)
async def ai_decisions_report(call: Call) -> AiDecisionsPage:
    """The organisation's AI decision log (EU AI Act Art. 12), newest first (admins or the service key)."""
    from shared.reports import service as reports

    query = reports.ai_decisions_query(call.request.query_params)
    return await reports.ai_decisions(call.services.db, call.principal, query)


@api(
    bp,
    "reports/ai-usage",
    methods=("GET",),
    auth=USER_OR_SERVICE,
    response=AiUsageReport,
    rate_limit=Bucket.REPORTS_AI_USAGE,
    errors=(400, 403, 404),
    docs=AiUsageDocs(),
)
async def ai_usage_report(call: Call) -> AiUsageReport:
    """The organisation's AI usage and estimated cost per day and purpose, with this month's budget."""
    from shared.reports import service as reports

    query = reports.ai_usage_query(call.request.query_params)
    return await reports.ai_usage(call.services.db, call.services.usage, call.principal, query)
