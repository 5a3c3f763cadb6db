"""Text from a CV's PDF, with pypdf, under caps that keep a hostile file cheap.

- size: at most MAX_PDF_BYTES (checked before parsing);
- pages: a document that declares, or turns out to have, more than MAX_PAGES
  pages is refused (pypdf's page-tree limit stops a tree that lies early);
- streams: decompression and parsing budgets far below pypdf's defaults, so a
  small "zip bomb" stream fails instead of inflating to hundreds of MB;
- text: extraction stops after MAX_TEXT_CHARS characters;
- time: pages are read in a worker thread that checks a deadline between
  pages; the caller stops waiting shortly after it. At most MAX_CONCURRENT
  extractions run at once per process.
Every refusal is an Unprocessable (422) with a message a candidate can act on.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from typing import TYPE_CHECKING, Any

from shared.platform.errors import ApiError, PayloadTooLarge, Unprocessable
from shared.resumes.models import MAX_PDF_BYTES

if TYPE_CHECKING:
    from pypdf import PdfReader

MAX_PAGES = 30
MAX_TEXT_CHARS = 40_000
MIN_TEXT_CHARS = 20  # fewer readable characters than this is an image, not a CV
EXTRACTION_SECONDS = 3.0
MAX_CONCURRENT = 2

# pypdf's resource limits for CV-sized documents (its defaults suit arbitrary PDFs).
PYPDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": MAX_PDF_BYTES,
    "zlib_maximum_output_length": 8_000_000,
    "lzw_maximum_output_length": 8_000_000,
    "run_length_maximum_output_length": 8_000_000,
    "array_based_stream_maximum_output_length": 8_000_000,
    "brotli_maximum_output_length": 8_000_000,
    "jbig2_maximum_output_length": 8_000_000,
    "image_maximum_buffer_size": 8_000_000,
    "stream_decoding_work_maximum_length": 32_000_000,
    "stream_parsing_work_maximum_count": 500_000,
    "page_tree_maximum_entries": MAX_PAGES * 4,
    "page_tree_maximum_depth": 20,
    "xform_maximum_invocations_per_extraction": 200,
}

NOT_A_PDF = "The file is not a PDF; upload your CV as a PDF"
UNREADABLE = "The PDF could not be read: the file is damaged or not a valid PDF"
ENCRYPTED = "The PDF is password-protected; upload a copy without a password"
NO_TEXT = "The PDF contains no readable text (it may be a scanned image); upload a PDF exported from a word processor"
TOO_COMPLEX = "The PDF is too large or complex to read; upload a simpler export of your CV"

_semaphore: asyncio.Semaphore | None = None
_WHITESPACE_RUN = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


async def extract_pdf_text(data: bytes) -> str:
    """The PDF's text (normalised whitespace, at most MAX_TEXT_CHARS), or a 422."""
    global _semaphore
    if len(data) > MAX_PDF_BYTES:
        raise PayloadTooLarge(f"The PDF is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB")
    if b"%PDF-" not in data[:1024]:
        raise Unprocessable(NOT_A_PDF)
    _semaphore = _semaphore or asyncio.Semaphore(MAX_CONCURRENT)
    async with _semaphore:
        deadline = time.monotonic() + EXTRACTION_SECONDS
        try:
            async with asyncio.timeout(EXTRACTION_SECONDS + 0.5):
                text = await asyncio.to_thread(_extract, data, deadline)
        except TimeoutError:
            raise Unprocessable(TOO_COMPLEX) from None
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise Unprocessable(NO_TEXT)
    return text


def _extract(data: bytes, deadline: float) -> str:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    with apply_configuration(None, **PYPDF_LIMITS):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not _opens_without_password(reader):
                raise Unprocessable(ENCRYPTED)
            declared = _declared_page_count(reader)
            if declared is not None and declared > MAX_PAGES:
                raise Unprocessable(f"The PDF has {declared} pages; a CV may have at most {MAX_PAGES}")
            pages = reader.pages
            if len(pages) > MAX_PAGES:
                raise Unprocessable(f"The PDF has {len(pages)} pages; a CV may have at most {MAX_PAGES}")
            parts, length = [], 0
            for page in pages:
                if time.monotonic() > deadline:
                    raise Unprocessable(TOO_COMPLEX)
                text = page.extract_text() or ""
                parts.append(text)
                length += len(text)
                if length >= MAX_TEXT_CHARS:
                    break
        except ApiError:
            raise
        except LimitReachedError as exc:
            if "page" in str(exc).lower():
                raise Unprocessable(f"The PDF has too many pages; a CV may have at most {MAX_PAGES}") from None
            raise Unprocessable(TOO_COMPLEX) from None
        except Exception:  # pypdf's errors and whatever else a damaged file provokes
            raise Unprocessable(UNREADABLE) from None
    return normalise_text("\n".join(parts))[:MAX_TEXT_CHARS]


def _opens_without_password(reader: PdfReader) -> bool:
    """Many PDFs are encrypted only to restrict printing or copying: they open with an empty password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _declared_page_count(reader: PdfReader) -> int | None:
    try:
        count = reader.trailer["/Root"]["/Pages"]["/Count"]  # type: ignore[index]  # pypdf types objects loosely
        return int(count)
    except Exception:
        return None  # let the page tree itself decide


def normalise_text(text: str) -> str:
    text = "".join(ch for ch in text if ch in "\n\t" or ch >= " ")  # control characters out
    text = _WHITESPACE_RUN.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
