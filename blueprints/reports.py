"""Reports for audits, for an organisation's admins or the service key:
GET /api/reports/bias-audit (aggregates by sex, race/ethnicity and their
intersection, as JSON, CSV or HTML) and GET /api/reports/ai-decisions (the AI
decision log, EU AI Act Art. 12)."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform.buckets import Bucket
from shared.platform.http import USER_OR_SERVICE, Call, api
from shared.reports import service as reports
from shared.reports.models import AiDecisionsDocs, AiDecisionsPage, BiasAuditDocs, BiasAuditQuery, BiasAuditReport

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
    query = reports.ai_decisions_query(call.request.query_params)
    return await reports.ai_decisions(call.services.db, call.principal, query)
