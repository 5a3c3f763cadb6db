"""POST /api/ai/generate-shortlist (was generate-shortlist)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.shortlist"


@api(bp, "ai/generate-shortlist", auth=USER, body=f"{MODELS}:ShortlistRequest", response=f"{MODELS}:ShortlistResponse",
     rate_limit="ai/generate-shortlist")
async def generate_shortlist(call: Call):
    """Rank a role's applicants; the model explains the leading group."""
    from shared.services.shortlist import generate_shortlist as rank_applicants

    return await rank_applicants(call.services.db, lambda: call.services.ai, call.user_id, call.body)
