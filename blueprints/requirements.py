"""POST /api/ai/extract-requirements (was extract-requirements)."""

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api
from shared.requirements.models import ExtractRequirementsRequest, ExtractRequirementsResponse

bp = func.Blueprint()


@api(
    bp,
    "ai/extract-requirements",
    auth=USER,
    body=ExtractRequirementsRequest,
    response=ExtractRequirementsResponse,
    rate_limit=Bucket.AI_EXTRACT_REQUIREMENTS,
    former="extract-requirements",
    errors=(402, 502),
    model_budget=True,
)
async def extract_requirements(call: Call) -> ExtractRequirementsResponse:
    """Extract a role's requirements from its job description."""
    from shared.requirements.service import extract_requirements as extract

    return ExtractRequirementsResponse(requirements=await extract(call.services.metered_ai(call.user), call.body))
