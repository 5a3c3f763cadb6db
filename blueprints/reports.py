"""GET /api/reports/ai-decisions: reports for an organisation's admins."""

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.http import USER_OR_SERVICE, Call, api
from shared.reports import service as reports
from shared.reports.models import AiDecisionsDocs, AiDecisionsPage

bp = func.Blueprint()


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
