"""Creating an organisation (was the `create-organisation` edge function)."""

from __future__ import annotations

from uuid import UUID

from shared.adapters.ports import Database
from shared.organisations import queries as orgs
from shared.organisations.models import CreateOrganisationRequest, Organisation
from shared.platform.errors import Forbidden


async def create_organisation(
    db: Database, user_id: UUID, request: CreateOrganisationRequest, ip_address: str | None = None
) -> Organisation:
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
