"""Real PDF files for tests and benchmarks, written byte by byte (text pages with
the standard Helvetica font), plus hostile ones. pypdf reads them as it reads
any PDF; encryption uses pypdf's own writer."""

from __future__ import annotations

import io
import zlib

TWO_PAGE_CV = [
    [
        "Alex Candidate",
        "alex.candidate@example.test | +61 400 000 000 | Sydney NSW 2000",
        "linkedin.com/in/alexcandidate",
        "",
        "SUMMARY",
        "Frontend engineer with 8 years of experience building React and TypeScript applications.",
        "",
        "EXPERIENCE",
        "Senior Frontend Developer, Acme Pty Ltd (Jan 2020 - present)",
        "Led a team of 5 engineers; migrated the dashboard to React 18 and GraphQL.",
        "Frontend Developer, Beta Corp (Mar 2016 - Dec 2019)",
        "Built the customer portal in React; introduced automated testing with Jest.",
    ]
    + [f"Achievement {n}: shipped a feature used by thousands of customers every week." for n in range(1, 20)],
    [
        "EDUCATION",
        "University of Sydney - Bachelor of Computer Science (2012 - 2015)",
        "",
        "SKILLS",
        "React, TypeScript, GraphQL, Node.js, Jest, Accessibility, Mentoring, Communication",
        "",
        "PROJECTS",
    ]
    + [f"Project {n}: an open-source component library with 200 stars and steady releases." for n in range(1, 20)],
]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_stream(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for line in lines:
        ops.append(f"({_escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


class Deflated(bytes):
    """A content stream that is already FlateDecode-compressed."""


def build_pdf(pages: list[bytes], *, compress: bool = False, declared_count: int | None = None) -> bytes:
    """A PDF whose pages have the given content streams (see `text_stream`)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for content in pages:
        if compress or isinstance(content, Deflated):
            data = content if isinstance(content, Deflated) else zlib.compress(content)
            stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        else:
            stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, stream, font)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    count = len(kids) if declared_count is None else declared_count
    objects[pages_id - 1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % count
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref))
    return out.getvalue()


def cv_pdf(pages: list[list[str]] = TWO_PAGE_CV) -> bytes:
    return build_pdf([text_stream(lines) for lines in pages], compress=True)


def image_only_pdf() -> bytes:
    """Pages that draw shapes but carry no text (what a scan looks like to a text extractor)."""
    drawing = b"0.2 0.2 0.2 rg 50 50 495 742 re f 1 1 1 rg 100 100 100 100 re f"
    return build_pdf([drawing, drawing])


def many_pages_pdf(count: int = 2_000) -> bytes:
    return build_pdf([text_stream([f"Page {n}"]) for n in range(count)])


def lying_page_count_pdf(count: int = 2_000) -> bytes:
    """Thousands of pages behind a page tree that claims to hold one."""
    return build_pdf([text_stream([f"Page {n}"]) for n in range(count)], declared_count=1)


def huge_stream_pdf(decompressed_mb: int = 64) -> bytes:
    """One page whose small compressed content stream inflates to `decompressed_mb` MB."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(decompressed_mb)) + compressor.flush()
    return build_pdf([Deflated(bomb)])


def encrypted_pdf(password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(cv_pdf())))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    """A PDF header followed by damage: truncated in the middle of its objects."""
    whole = cv_pdf()
    return whole[: len(whole) // 3] + b"\x00\xff garbage \x00" * 50


NOT_A_PDF = b"PK\x03\x04 this is a zip file pretending to be a CV" + bytes(range(256))
