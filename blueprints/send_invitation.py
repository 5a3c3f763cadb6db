"""POST /api/invitations/send (was send-invitation)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.invitations"


@api(bp, "invitations/send", auth=USER, body=f"{MODELS}:SendInvitationRequest",
     response=f"{MODELS}:SendInvitationResponse", rate_limit="invitations/send")
async def invitations_send(call: Call):
    """Create an interview invitation for an application and email it to the candidate."""
    from shared.services.invitations import send_invitation

    services = call.services
    email = services.email  # 503 before anything is written when email is not configured
    return await send_invitation(services.db, email, call.user_id, call.body,
                                 site_url=services.settings.SITE_URL, ip_address=call.client_ip)
