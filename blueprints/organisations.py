"""POST /api/organisations (was create-organisation)."""

import azure.functions as func

from shared.organisations.models import CreateOrganisationRequest, OrganisationResponse
from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api

bp = func.Blueprint()


@api(
    bp,
    "organisations",
    auth=USER,
    body=CreateOrganisationRequest,
    response=OrganisationResponse,
    rate_limit=Bucket.ORGANISATIONS,
    former="create-organisation",
)
async def organisations(call: Call) -> OrganisationResponse:
    """Create an organisation with the caller as its admin."""
    from shared.organisations.service import create_organisation

    organisation = await create_organisation(call.services.db, call.user, call.body, call.client_ip)
    return OrganisationResponse(organisation=organisation)
