"""What every feature's request and response models build on (pydantic): the base
model, the error body, shared field types. Field names are the wire names of
API.md exactly, so a model reads like the contract it implements."""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


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
    requestId: str | None = None  # the request's id (also the x-request-id header and in its log lines)


class Documented:
    """For `Annotated[...]`: JSON Schema keywords the OpenAPI document shows for a type
    whose validation a plain schema cannot express (a pattern for "not blank after
    stripping", an enum checked by a validator). Documentation only: validation is
    unchanged. The keywords must describe requests validation accepts."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        # On an optional field the keywords belong to the non-null branch.
        branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"] or [schema]
        for branch in branches:
            branch.update(self.keywords)
        return schema


# Patterns spell whitespace out: readers of JSON Schema differ on what `\s` means.
# pydantic's strip_whitespace removes Unicode White_Space; str.strip() also \x1c-\x1f.
STRIPPED = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PY_SPACES = STRIPPED + r"\x1c-\x1f"
NOT_BLANK = f"[^{STRIPPED}]"  # a pattern: at least one character that stripping keeps


class OrBlank:
    """For `Annotated[X | None, ...]` of a field that reads a blank string as null:
    the document lists blank strings beside X and null. Documentation only."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        blank = {"type": "string", "pattern": f"^[{PY_SPACES}]*$", "description": "blank: read as null"}
        schema["anyOf"] = [*schema.get("anyOf", []), blank]
        return schema


# A pragmatic email check (one @, a dotted domain, no spaces or angle brackets);
# deliverability is the email provider's job.
_EMAIL = re.compile(
    r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value


# The document shows the pattern, which is the check itself (JSON Schema's e-mail format is another one).
Email = Annotated[
    str,
    AfterValidator(_check_email),
    Documented(pattern=_EMAIL.pattern.replace(r"\s", PY_SPACES), maxLength=320, description="An e-mail address"),
]


class NullAllowed:
    """For `Annotated[...]` of a field that reads null as its default: the document
    lists null beside the type. Documentation only."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [handler(core_schema), {"type": "null"}]}


@dataclass(frozen=True)
class _NullMeans(BeforeValidator, NullAllowed):
    pass


def null_means(default: Any) -> BeforeValidator:
    """For `Annotated[...]`: a field the frontend may send as null, read as `default`."""
    return _NullMeans(lambda value: default if value is None else value)
