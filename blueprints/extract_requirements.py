"""POST /api/ai/extract-requirements (was extract-requirements)."""

import azure.functions as func

from shared.http import USER, Call, api
from shared.models.requirements import ExtractRequirementsRequest, ExtractRequirementsResponse
from shared.rate_limit import Bucket
from shared.services.requirements import extract_requirements as extract

bp = func.Blueprint()


@api(
    bp,
    "ai/extract-requirements",
    auth=USER,
    body=ExtractRequirementsRequest,
    response=ExtractRequirementsResponse,
    rate_limit=Bucket.AI_EXTRACT_REQUIREMENTS,
    former="extract-requirements",
)
async def extract_requirements(call: Call) -> ExtractRequirementsResponse:
    """Extract a role's requirements from its job description."""
    return ExtractRequirementsResponse(requirements=await extract(call.services.ai, call.body))
