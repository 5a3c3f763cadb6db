"""POST /api/ai/generate-shortlist (was generate-shortlist)."""

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api
from shared.shortlist.models import ShortlistRequest, ShortlistResponse

bp = func.Blueprint()


@api(
    bp,
    "ai/generate-shortlist",
    auth=USER,
    body=ShortlistRequest,
    response=ShortlistResponse,
    rate_limit=Bucket.AI_GENERATE_SHORTLIST,
    former="generate-shortlist",
    errors=(402, 404),
    model_budget=True,
)
async def generate_shortlist(call: Call) -> ShortlistResponse:
    """Rank a role's applicants; the model explains the leading group."""
    from shared.shortlist.service import generate_shortlist as rank_applicants

    return await rank_applicants(call.services.db, call.services.optional_metered_ai(call.user), call.user, call.body)
