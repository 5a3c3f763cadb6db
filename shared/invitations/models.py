"""POST /api/invitations/send (API.md section 9)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from shared.platform.models import ApiModel, Email, OrBlank, null_means

DEFAULT_EXPIRY_DAYS = 7

ShortText = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)]


class SendInvitationRequest(ApiModel):
    """The invitation goes to the candidate's confirmed sign-in address, with the role's title and the
    organisation's name from the database; `candidateEmail`, `roleTitle` and `companyName`
    are accepted (the frontend sends them) and ignored, so nobody can mail a stranger from
    Talenti's domain in their own words (docs/INVITATIONS.md)."""

    applicationId: UUID
    candidateEmail: Annotated[Email | None, OrBlank()] = Field(
        default=None,
        description="Ignored: the invitation goes to the candidate's confirmed sign-in address.",
        json_schema_extra={"deprecated": True},
    )
    roleTitle: ShortText = Field(
        default=None, description="Ignored: the role's title is used.", json_schema_extra={"deprecated": True}
    )
    companyName: ShortText = Field(
        default=None, description="Ignored: the organisation's name is used.", json_schema_extra={"deprecated": True}
    )
    expiresInDays: Annotated[int, Field(ge=1, le=30), null_means(DEFAULT_EXPIRY_DAYS)] = DEFAULT_EXPIRY_DAYS

    @field_validator("candidateEmail", "roleTitle", "companyName", mode="before")
    @classmethod
    def _blank_is_null(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class SendInvitationResponse(ApiModel):
    success: bool = True
    invitationId: UUID
    expiresAt: datetime
