"""POST /api/organisations (was create-organisation)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.organisations"


@api(bp, "organisations", auth=USER, body=f"{MODELS}:CreateOrganisationRequest",
     response=f"{MODELS}:OrganisationResponse", rate_limit="organisations")
async def organisations(call: Call):
    """Create an organisation with the caller as its admin."""
    from shared.services.organisations import create_organisation

    organisation = await create_organisation(call.services.db, call.user_id, call.body, call.client_ip)
    return {"organisation": organisation.model_dump(mode="json")}
