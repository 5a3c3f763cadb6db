"""Creating an organisation (was the `create-organisation` edge function)."""

from __future__ import annotations

from shared.db import audit, orgs
from shared.errors import Forbidden
from shared.models.organisations import CreateOrganisationRequest, Organisation


async def create_organisation(db, user_id, request: CreateOrganisationRequest,
                              ip_address: str | None = None) -> Organisation:
    """One transaction: the organisation, the caller as its admin, the caller's
    org_admin app role and the audit entry; all or nothing."""
    from psycopg.errors import ForeignKeyViolation

    values = request.model_dump()
    try:
        async with db.transaction() as conn:
            organisation = await orgs.insert_organisation(conn, values)
            await orgs.add_member(conn, organisation["id"], user_id, "admin")
            await orgs.grant_app_role(conn, user_id, "org_admin")
            await audit.record(conn, action="organisation.created", entity_type="organisation",
                               entity_id=organisation["id"], user_id=user_id,
                               organisation_id=organisation["id"], new_values=values, ip_address=ip_address)
    except ForeignKeyViolation:
        # The token is valid but its user no longer exists in auth.users.
        raise Forbidden("Your user account does not exist") from None
    return Organisation.model_validate(organisation)
