"""Users who may have call and speech tokens (issue 21: tokens need a reason)."""

from __future__ import annotations

import uuid

from tests.ai.seed import create_org
from tests.support import create_user


async def member(db, user_id: uuid.UUID | None = None) -> uuid.UUID:
    """A user who belongs to an organisation (recruiters use calls and speech)."""
    user = user_id or await create_user(db)
    await create_org(db, member=user)
    return user
