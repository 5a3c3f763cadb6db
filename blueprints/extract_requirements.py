"""POST /api/ai/extract-requirements (was extract-requirements)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.requirements"


@api(bp, "ai/extract-requirements", auth=USER, body=f"{MODELS}:ExtractRequirementsRequest",
     response=f"{MODELS}:ExtractRequirementsResponse", rate_limit="ai/extract-requirements")
async def extract_requirements(call: Call):
    """Extract a role's requirements from its job description."""
    from shared.models.requirements import ExtractRequirementsResponse
    from shared.services.requirements import extract_requirements as extract

    return ExtractRequirementsResponse(requirements=await extract(call.services.ai, call.body))
