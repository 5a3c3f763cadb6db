"""POST /api/ai/parse-resume (API.md section 3): the request and the structure
the model fills, validated before it is returned."""

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from shared.ai.marks import Aliases
from shared.platform.models import ApiModel, Documented
from shared.platform.operation import Document, OperationDocs

# (`(?!\n)`: a pattern's `$` also matches before a final newline in Python's reading.)
MAX_PDF_BYTES = 10 * 1024 * 1024  # the largest CV read, stored or uploaded
MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around an uploaded file part
MAX_UPLOAD_BODY = MAX_PDF_BYTES + MULTIPART_OVERHEAD
CV_PATH_PATTERN = r"^(?!/)(?!.*\.\.)(?!.*//)[^\\\x00-\x1f\x7f?#%]*\.[Pp][Dd][Ff](?!\n)$"


class ParseResumeRequest(ApiModel):
    # The document shows the path rules checked before storage is read (shared/resumes/cv_paths.py):
    # relative, no '..', '//', backslash, control character, '?', '#' or '%', a .pdf, at most 512.
    filePath: Annotated[
        str, StringConstraints(min_length=1, max_length=2_000), Documented(maxLength=512, pattern=CV_PATH_PATTERN)
    ]
    userId: UUID | None = None


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _iso_date(value: Any) -> str | None:
    """YYYY-MM-DD or null; a year or year-month is completed with the first day
    (CVs rarely give days)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    match = _PARTIAL_DATE.match(str(value).strip())
    if not match:
        raise ValueError("must be a date as YYYY-MM-DD, or null")
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    try:
        return date.fromisoformat(f"{year}-{month}-{day}").isoformat()
    except ValueError:
        raise ValueError("must be a real calendar date as YYYY-MM-DD") from None


def _null_is_empty(value: Any) -> Any:
    return "" if value is None else value


def _web_address(value: str) -> str:
    """An http(s) address or nothing: the frontend renders these as links."""
    value = value.strip()
    if not value:
        return ""
    if _SCHEME.match(value) and not value.lower().startswith(("http://", "https://")):
        return ""  # javascript:, data:, mailto: ...
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return ""
    if not parts.hostname or " " in value:
        return ""
    return value


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")
_EMAILISH = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,255}\.[A-Za-z]{2,}$")


def _email_or_nothing(value: str) -> str:
    value = value.strip()
    return value if _EMAILISH.match(value) else ""


IsoDate = Annotated[str | None, BeforeValidator(_iso_date), Field(description="YYYY-MM-DD, or null")]


# A text field of the answer, `Annotated[Text, at_most(n)]`: null reads as "", spaces around are trimmed.
Text = Annotated[str, BeforeValidator(_null_is_empty)]


def at_most(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, max_length=max_length)


class Location(ApiModel):
    suburb: Annotated[Text, at_most(120)] = ""
    state: Annotated[Text, at_most(120)] = ""
    postcode: Annotated[Text, at_most(20)] = ""
    country: Annotated[Text, at_most(120)] = ""


class Personal(ApiModel):
    first_name: Annotated[Text, at_most(120)] = ""
    last_name: Annotated[Text, at_most(120)] = ""
    email: Annotated[Text, at_most(320), AfterValidator(_email_or_nothing)] = ""
    phone: Annotated[Text, at_most(60)] = ""
    linkedin_url: Annotated[Text, at_most(500), AfterValidator(_web_address)] = ""
    portfolio_url: Annotated[Text, at_most(500), AfterValidator(_web_address)] = ""
    location: Location = Field(default_factory=Location)


class Employment(ApiModel):
    job_title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    company_name: Annotated[Text, at_most(200)] = ""
    start_date: IsoDate = None
    end_date: IsoDate = None
    is_current: bool = False
    description: Annotated[Text, at_most(3_000)] = ""


class Education(ApiModel):
    institution: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    degree: Annotated[Text, at_most(200)] = ""
    field_of_study: Annotated[Text, at_most(200)] = ""
    end_date: IsoDate = None
    is_current: bool = False


class Skill(ApiModel):
    skill_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    # The aliases are the prompt's own words for the two types.
    skill_type: Annotated[
        Literal["hard", "soft"],
        Aliases({"hard": ("technical", "hard skill", "technical skill"), "soft": ("interpersonal", "soft skill")}),
    ] = Field(description="hard: a technical or tool skill; soft: interpersonal")


class ParsedResume(ApiModel):
    """The model's reading of a CV (also the response's `data`). Nothing is essential:
    an over-long field is clipped, an invalid optional field left out, an invalid
    entry of a list removed, so one bad value never costs the whole parse."""

    personal: Personal = Field(default_factory=Personal)
    employment: Annotated[list[Employment], Field(max_length=30)] = Field(
        default_factory=list, description="Most recent first."
    )
    education: Annotated[list[Education], Field(max_length=20)] = Field(default_factory=list)
    skills: Annotated[list[Skill], Field(max_length=100)] = Field(default_factory=list)
    summary: Annotated[Text, at_most(3_000)] = ""


class ParseResumeResponse(ApiModel):
    success: bool = True
    data: ParsedResume


class ParseResumeDocs(OperationDocs):
    """The body is read by hand: a JSON path, or the PDF itself as multipart."""

    def request_body(self, document: Document) -> dict[str, Any] | None:
        upload = {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": "application/pdf",
                    "description": "The CV, a PDF of at most 10 MB",
                }
            },
        }
        return {
            "required": True,
            "description": "The path of the caller's CV in CV storage, or the CV itself",
            "content": {**document.json(ParseResumeRequest), "multipart/form-data": {"schema": upload}},
        }
