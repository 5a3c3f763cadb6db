from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, StringConstraints, field_validator

from shared.models import ApiModel, Email


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


OptionalText = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=5000)]


class CreateOrganisationRequest(ApiModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    industry: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None
    website: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=2048),
                       AfterValidator(_http_url)] = None
    description: OptionalText = None
    billing_email: Email | None = None

    @field_validator("industry", "website", "description", "billing_email", mode="before")
    @classmethod
    def _blank_is_null(cls, value):
        return None if isinstance(value, str) and not value.strip() else value



class Organisation(ApiModel):
    id: UUID
    name: str
    industry: str | None
    website: str | None
    description: str | None
    billing_email: str | None
    created_at: datetime
    updated_at: datetime


class OrganisationResponse(ApiModel):
    organisation: Organisation
