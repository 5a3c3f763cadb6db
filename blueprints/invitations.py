"""POST /api/invitations/send (was send-invitation)."""

import azure.functions as func

from shared.invitations.models import SendInvitationRequest, SendInvitationResponse
from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api

bp = func.Blueprint()


@api(
    bp,
    "invitations/send",
    auth=USER,
    body=SendInvitationRequest,
    response=SendInvitationResponse,
    rate_limit=Bucket.INVITATIONS_SEND,
    former="send-invitation",
    errors=(404, 422, 502),
)
async def invitations_send(call: Call) -> SendInvitationResponse:
    """Create an interview invitation for an application and email it to the candidate."""
    from shared.invitations.service import send_invitation

    services = call.services
    email = services.email  # 503 before anything is written when email is not configured
    settings = services.settings
    return await send_invitation(
        services.db,
        email,
        call.user,
        call.body,
        site_url=settings.SITE_URL,
        org_daily_quota=settings.INVITATIONS_PER_ORG_PER_DAY,
        ip_address=call.client_ip,
    )
