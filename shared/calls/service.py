"""ACS tokens (API.md section 6): a user's ACS identity is created once, stored in
app.acs_identities, and reused; each request only issues a token for it."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import TYPE_CHECKING
from uuid import UUID

from shared.adapters.ports import AcsIdentities, Database
from shared.calls import queries as calls_db
from shared.calls.models import AcsTokenResponse, AcsUser
from shared.platform.errors import Forbidden
from shared.platform.logs import log_event

if TYPE_CHECKING:
    from shared.adapters.acs_identity import AcsToken

DEFAULT_SCOPES = ("voip",)


async def issue_acs_token(
    db: Database, identity: AcsIdentities, user_id: UUID, scopes: list[str] | None
) -> AcsTokenResponse:
    from shared.adapters.acs_identity import IdentityNotFound

    scopes = list(scopes or DEFAULT_SCOPES)
    async with db.connection() as conn:
        communication_user_id = await calls_db.acs_identity_of(conn, user_id)
    if communication_user_id is not None:
        try:
            token = await identity.issue_token(communication_user_id, scopes)
            return _response(communication_user_id, token)
        except IdentityNotFound:  # deleted at ACS: replace it below
            log_event("acs_identity_gone", level=logging.WARNING, userId=user_id)
            async with db.connection() as conn:
                await calls_db.forget_acs_identity(conn, user_id, communication_user_id)
    communication_user_id, created_with = await _create_identity(db, identity, user_id, scopes)
    return _response(communication_user_id, created_with or await identity.issue_token(communication_user_id, scopes))


async def _create_identity(
    db: Database, identity: AcsIdentities, user_id: UUID, scopes: list[str]
) -> tuple[str, AcsToken | None]:
    """Under a per-user lock: of two simultaneous first requests only one creates an
    identity; the other waits and finds it (then gets a token of its own, outside)."""
    async with db.transaction() as conn:
        await calls_db.lock_acs_identity(conn, user_id)
        existing = await calls_db.acs_identity_of(conn, user_id)
        if existing is not None:
            return existing, None
        if not await calls_db.auth_user_exists(conn, user_id):
            raise Forbidden("Your user account does not exist")
        communication_user_id, token = await identity.create_user_with_token(scopes)
        await calls_db.store_acs_identity(conn, user_id, communication_user_id)
    log_event("acs_identity_created", userId=user_id)
    return communication_user_id, token


def _response(communication_user_id: str, token: AcsToken) -> AcsTokenResponse:
    expires_on = token.expires_on.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return AcsTokenResponse(
        token=token.token, expiresOn=expires_on, user=AcsUser(communicationUserId=communication_user_id)
    )
