"""POST /api/acs/token (was acs-token-generator)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.calls"


@api(bp, "acs/token", auth=USER, body=f"{MODELS}:AcsTokenRequest", response=f"{MODELS}:AcsTokenResponse",
     rate_limit="acs/token")
async def acs_token(call: Call):
    """Issue an ACS token for the caller's own ACS identity (created on first use)."""
    from shared.services.calls import issue_acs_token

    return await issue_acs_token(call.services.db, call.services.acs_identity, call.user_id, call.body.scopes)
