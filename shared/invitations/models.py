"""POST /api/invitations/send (API.md section 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from shared.platform.models import ApiModel, Email, OrBlank, null_means

DEFAULT_EXPIRY_DAYS = 7

ShortText = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)]


class SendInvitationRequest(ApiModel):
    """`candidateEmail` may be left out: the candidate's profile email is used then.
    `roleTitle` and `companyName` default to the role's title and the organisation's name."""

    applicationId: UUID
    candidateEmail: Annotated[Email | None, OrBlank()] = None
    roleTitle: ShortText = None
    companyName: ShortText = None
    expiresInDays: Annotated[int, Field(ge=1, le=30), null_means(DEFAULT_EXPIRY_DAYS)] = DEFAULT_EXPIRY_DAYS

    @field_validator("candidateEmail", "roleTitle", "companyName", mode="before")
    @classmethod
    def _blank_is_null(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class SendInvitationResponse(ApiModel):
    success: bool = True
    invitationId: UUID
    expiresAt: datetime
