"""Reading a candidate's CV (was parse-resume): from CV storage by path, or from
a multipart upload; text extracted under caps (pdf_text), then structured by
the model and validated. The model call is recorded in the AI decision log
(about the caller; no organisation or interview) in a short transaction of its
own."""

from __future__ import annotations

import re
from uuid import UUID

from shared.adapters.ports import AIModel, CvStore, Database
from shared.platform.decision_log import Concerning, DecisionRecorder
from shared.platform.errors import BadRequest, Forbidden, PayloadTooLarge
from shared.resumes import prompts as prompt
from shared.resumes.cv_paths import in_user_folder, unsafe_path_reason
from shared.resumes.models import MAX_PDF_BYTES, ParsedResume, ParseResumeRequest
from shared.resumes.pdf_text import extract_pdf_text

UPLOAD_FIELD = "file"


def checked_cv_path(request: ParseResumeRequest, user_id: UUID) -> str:
    """API.md's path rules, applied before storage is touched: the caller's own
    folder, a .pdf, no traversal or odd characters."""
    if request.userId is not None and request.userId != user_id:
        raise Forbidden("You can only parse your own CV")
    path = request.filePath
    reason = unsafe_path_reason(path)
    if reason:
        raise BadRequest(reason)
    if not path.lower().endswith(".pdf"):
        raise BadRequest("filePath must name a .pdf file")
    if not in_user_folder(path, user_id):
        raise Forbidden("You can only parse your own CV")
    return path


async def parse_stored(
    storage: CvStore, ai: AIModel, db: Database, user_id: UUID, request: ParseResumeRequest
) -> ParsedResume:
    path = checked_cv_path(request, user_id)
    data = await storage.read(path, MAX_PDF_BYTES)
    return await parse_pdf(ai, db, user_id, data)


async def parse_pdf(ai: AIModel, db: Database, user_id: UUID, data: bytes) -> ParsedResume:
    """The caller's own CV (`user_id`: whom the decision log's row concerns)."""
    text = await extract_pdf_text(data)
    decisions = DecisionRecorder(Concerning(candidate_ids=[user_id]))
    try:
        return await ai.structured(
            purpose="parse_resume",
            prompt_version=prompt.VERSION,
            messages=prompt.resume_messages(text),
            schema=ParsedResume,
            tool_name=prompt.TOOL_NAME,
            tool_description=prompt.TOOL_DESCRIPTION,
            on_call=decisions,
        )
    finally:
        await decisions.flush(db)


def uploaded_file(content_type: str, body: bytes, field: str = UPLOAD_FIELD) -> bytes:
    """The bytes of one part of a multipart/form-data body (read whole, size-capped by the caller)."""
    boundary = _boundary(content_type)
    delimiter = b"--" + boundary
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise BadRequest("Malformed multipart body")
        if _part_name(head) == field:
            content = content.removesuffix(b"\r\n")
            if len(content) > MAX_PDF_BYTES:
                raise PayloadTooLarge(f"The file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB")
            return content
    raise BadRequest(f"The multipart body has no '{field}' part")


def _boundary(content_type: str) -> bytes:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary":
            value = value.strip().strip('"')
            if 1 <= len(value) <= 70:
                return value.encode("latin-1", "replace")
    raise BadRequest("multipart/form-data needs a boundary")


_NAME = re.compile(r'(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)


def _part_name(head: bytes) -> str | None:
    for line in head.decode("latin-1").split("\r\n"):
        header, _, value = line.partition(":")
        if header.strip().lower() == "content-disposition":
            match = _NAME.search(value)
            if match:
                return match.group(1) if match.group(1) is not None else match.group(2)
    return None
