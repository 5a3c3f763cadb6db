"""POST /api/ai/extract-requirements (was extract-requirements)."""

import azure.functions as func

from shared.http import USER, Call, api
from shared.models.requirements import ExtractRequirementsRequest, ExtractRequirementsResponse
from shared.services import requirements

bp = func.Blueprint()


@api(bp, "ai/extract-requirements", auth=USER, body=ExtractRequirementsRequest,
     response=ExtractRequirementsResponse, rate_limit="ai/extract-requirements")
async def extract_requirements(call: Call):
    """Extract a role's requirements from its job description."""
    extracted = await requirements.extract_requirements(call.services.ai, call.body)
    return ExtractRequirementsResponse(requirements=extracted)
