"""Reports for audits: GET /api/reports/bias-audit, the bias audit of an
organisation's AI scores and hiring stages (aggregates by sex, race/ethnicity and
their intersection), for its admins or the service key, as JSON, CSV or HTML."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform.buckets import Bucket
from shared.platform.http import USER_OR_SERVICE, Call, api
from shared.reports.models import BiasAuditDocs, BiasAuditQuery, BiasAuditReport
from shared.reports.service import bias_audit, rendered

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
    report = await bias_audit(call.services.db, call.principal, query)
    if query.format == "json":
        return report
    page = rendered(report, query.format)
    return Response(page.content, media_type=page.media_type, headers=page.headers)
