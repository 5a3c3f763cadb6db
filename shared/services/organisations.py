"""Creating an organisation (was the `create-organisation` edge function)."""

from __future__ import annotations

from shared.db import orgs
from shared.errors import Forbidden
from shared.models.organisations import CreateOrganisationRequest, Organisation


async def create_organisation(db, user_id, request: CreateOrganisationRequest,
                              ip_address: str | None = None) -> Organisation:
    """The organisation, the caller as its admin, the caller's org_admin app role
    and the audit entry: one statement, one round trip, all or nothing."""
    from psycopg.errors import ForeignKeyViolation

    values = request.model_dump()
    try:
        async with db.connection() as conn:
            organisation = await orgs.create_organisation(conn, values, user_id, ip_address)
    except ForeignKeyViolation:
        # The token is valid but its user no longer exists in auth.users.
        raise Forbidden("Your user account does not exist") from None
    return Organisation.model_validate(organisation)
