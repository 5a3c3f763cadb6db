"""POST /api/acs/token (was acs-token-generator)."""

import azure.functions as func

from shared.calls.models import AcsTokenRequest, AcsTokenResponse
from shared.calls.service import issue_acs_token
from shared.platform.http import USER, Call, api
from shared.platform.rate_limit import Bucket

bp = func.Blueprint()


@api(
    bp,
    "acs/token",
    auth=USER,
    body=AcsTokenRequest,
    response=AcsTokenResponse,
    rate_limit=Bucket.ACS_TOKEN,
    former="acs-token-generator",
)
async def acs_token(call: Call) -> AcsTokenResponse:
    """Issue an ACS token for the caller's own ACS identity (created on first use)."""
    return await issue_acs_token(call.services.db, call.services.acs_identity, call.user, call.body.scopes)
