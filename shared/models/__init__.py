"""Request and response models (pydantic). Field names are the wire names of
API.md exactly, so a model reads like the contract it implements."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class ApiModel(BaseModel):
    """Unknown fields are ignored, never rejected: the existing frontend sends
    extra ones. Optional fields accept null."""

    # defer_build: validators are built on first use, not at import (cold start).
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, defer_build=True)


class ErrorDetail(ApiModel):
    field: str
    message: str


class ErrorResponse(ApiModel):
    error: str
    details: list[ErrorDetail] | None = None


# A pragmatic email check (one @, a dotted domain, no spaces or angle brackets);
# deliverability is the email provider's job.
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def _check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value


Email = Annotated[str, AfterValidator(_check_email)]


def null_means(default) -> BeforeValidator:
    """For `Annotated[...]`: a field the frontend may send as null, read as `default`."""
    return BeforeValidator(lambda value: default if value is None else value)
