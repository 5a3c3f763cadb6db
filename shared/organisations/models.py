from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, StringConstraints, field_validator

from shared.platform.models import NOT_BLANK, PY_SPACES, ApiModel, Documented, Email, OrBlank


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


# What `_http_url` accepts, as a pattern: an http(s) scheme and a plain ASCII host part.
HTTP_URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~:@!$&'()*+,;=-]+(?:[/?#][^{PY_SPACES}]*)?$"

OptionalText = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=5000)]


class CreateOrganisationRequest(ApiModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Documented(pattern=NOT_BLANK)
    ]
    industry: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None
    website: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=2048),
        AfterValidator(_http_url),
        Documented(pattern=HTTP_URL_PATTERN),
        OrBlank(),
    ] = None
    description: OptionalText = None
    billing_email: Annotated[Email | None, OrBlank()] = None

    @field_validator("industry", "website", "description", "billing_email", mode="before")
    @classmethod
    def _blank_is_null(cls, value: Any) -> Any:
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
