"""Two more real-world kinds of CV PDF, beside tests/ai/pdfs.py's plain one, made
byte by byte because TeX Live and LibreOffice are far too large to install
for a fixture. Each copies how its producer encodes text, which is what a
text extractor meets:

- `latex_cv_pdf`: as pdfTeX writes it: Computer Modern Type 1 fonts with a
  `/Differences` encoding (ligatures such as "fi" as single glyphs), words set
  with `TJ` arrays whose spaces are kerning offsets, not space characters;
- `word_processor_cv_pdf`: as LibreOffice or Word write it: a Type 0 font with
  `Identity-H` two-byte glyph codes and a `ToUnicode` map, one positioned run
  per line, a header with the name left and contact details right.
"""

from __future__ import annotations

import zlib


def _pdf(objects: list[bytes], root: int) -> bytes:
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


# --- pdfTeX-like ------------------------------------------------------------------------

LATEX_CV = [
    ("title", "Priya Natarajan"),
    ("body", "priya.natarajan@example.test  |  +61 412 555 010  |  Melbourne VIC"),
    ("head", "Profile"),
    ("body", "Backend engineer with six years of experience in Python, PostgreSQL and cloud platforms."),
    ("body", "Specialised in efficient data pipelines and financial reporting systems."),
    ("head", "Experience"),
    ("body", "Senior Software Engineer, Fintech Labs, Melbourne (2021 - present)"),
    ("body", "Designed an event-driven ledger in Python and PostgreSQL serving 2 million transactions a day."),
    ("body", "Led five engineers; introduced code review and continuous integration."),
    ("body", "Software Engineer, Office Flow, Sydney (2018 - 2021)"),
    ("body", "Built reporting APIs with Django and profiled slow queries."),
    ("head", "Education"),
    ("body", "Master of Information Technology, University of Melbourne (2016 - 2017)"),
    ("body", "Bachelor of Science (Mathematics), Monash University (2012 - 2015)"),
    ("head", "Skills"),
    ("body", "Python, PostgreSQL, Django, FastAPI, Kafka, Docker, Terraform, leadership, mentoring"),
    ("head", "Certifications"),
    ("body", "AWS Certified Solutions Architect - Associate (2022)"),
]
LIGATURES = {"ffi": 14, "ffl": 15, "ff": 11, "fi": 12, "fl": 13}  # OT1 encoding slots, as in CMR
LIGATURE_NAMES = {11: "ff", 12: "fi", 13: "fl", 14: "ffi", 15: "ffl"}
SPACE_KERN = -333  # thousandths of the font size: the inter-word space pdfTeX draws as a shift


def _tex_string(word: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(word):
        for ligature in ("ffi", "ffl", "ff", "fi", "fl"):
            if word.startswith(ligature, i):
                out.append(LIGATURES[ligature])
                i += len(ligature)
                break
        else:
            char = word[i].encode("latin-1", "replace")
            out += b"\\" + char if char in (b"(", b")", b"\\") else char
            i += 1
    return b"(" + bytes(out) + b")"


def _tj(line: str) -> bytes:
    parts = [_tex_string(word) for word in line.split(" ")]
    return b"[" + (b"%d" % SPACE_KERN).join(parts) + b"]TJ"


def latex_cv_pdf() -> bytes:
    ops = [b"BT"]
    y = 780
    sizes = {"title": (b"/F2", 17.28, 28), "head": (b"/F2", 12.0, 22), "body": (b"/F1", 10.0, 14)}
    for kind, text in LATEX_CV:
        font, size, lead = sizes[kind]
        y -= lead
        ops.append(b"%s %.2f Tf 1 0 0 1 72 %d Tm %s" % (font, size, y, _tj(text)))
    ops.append(b"ET")
    content = b"\n".join(ops)
    differences = b"[" + b" ".join(b"%d /%s" % (code, name.encode()) for code, name in LIGATURE_NAMES.items()) + b"]"
    widths = b"[" + b" ".join(b"500" for _ in range(256)) + b"]"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /QKZRAB+CMR10 /FirstChar 0 /LastChar 255 /Widths "
        + widths
        + b" /Encoding 7 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /HJSPTE+CMBX12 /FirstChar 0 /LastChar 255 /Widths "
        + widths
        + b" /Encoding 7 0 R >>",
        b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences " + differences + b" >>",
        b"<< /Producer (pdfTeX-1.40.25) /Creator (TeX) >>",
    ]
    return _pdf(objects, root=1)


# --- word-processor-like ----------------------------------------------------------------

WORD_CV_LEFT = ["Daniel Okafor", "Customer Success Manager"]
WORD_CV_RIGHT = ["daniel.okafor@example.test", "+61 433 555 020", "Brisbane QLD 4000"]
WORD_CV_BODY = [
    "SUMMARY",
    "Customer success manager with nine years in SaaS support, onboarding and account management.",
    "Known for calm escalation handling and clear written communication.",
    "",
    "EMPLOYMENT HISTORY",
    "Customer Success Manager – CloudDesk Pty Ltd, Brisbane (Feb 2020 – present)",
    "• Managed a portfolio of 60 enterprise accounts with 97% renewal.",
    "• Built the onboarding playbook used by a team of eight.",
    "Support Team Lead – HelpRight, Gold Coast (Jun 2015 – Jan 2020)",
    "• Led a team of six agents; cut first-response time from 9 to 2 hours.",
    "",
    "EDUCATION",
    "Bachelor of Business (Marketing), Queensland University of Technology, 2014",
    "",
    "SKILLS",
    "Zendesk, Salesforce, SQL reporting, stakeholder management, coaching, negotiation",
]


def word_processor_cv_pdf() -> bytes:
    text = "".join(WORD_CV_LEFT + WORD_CV_RIGHT + WORD_CV_BODY)
    glyphs = {char: index + 1 for index, char in enumerate(sorted(set(text)))}

    def run(x: float, y: float, size: float, line: str) -> bytes:
        codes = "".join(f"{glyphs[c]:04X}" for c in line)
        return b"BT /F1 %.1f Tf 1 0 0 1 %.2f %.2f Tm <%s> Tj ET" % (size, x, y, codes.encode())

    ops, y = [], 790.0
    for index, line in enumerate(WORD_CV_LEFT):
        ops.append(run(56.7, y - index * 22, 20 if index == 0 else 12, line))
    for index, line in enumerate(WORD_CV_RIGHT):
        ops.append(run(400.0, y - index * 14, 9.5, line))
    y -= 70
    for line in WORD_CV_BODY:
        if line:
            ops.append(run(56.7, y, 11 if line.isupper() else 10, line))
        y -= 15
    content = b"\n".join(ops)
    cmap = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
        f"{len(glyphs)} beginbfchar",
    ]
    cmap += [f"<{code:04X}> <{ord(char):04X}>" for char, code in glyphs.items()]
    cmap += ["endbfchar", "endcmap CMapName currentdict /CMap defineresource pop end end"]
    widths = b"[1 [" + b" ".join(b"550" for _ in glyphs) + b"]]"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.3 841.9] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /BAAAAA+LiberationSans /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /BAAAAA+LiberationSans "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 8 0 R /CIDToGIDMap /Identity /DW 550 /W " + widths + b" >>",
        _stream("\n".join(cmap).encode()),
        b"<< /Type /FontDescriptor /FontName /BAAAAA+LiberationSans /Flags 4 /FontBBox [-203 -303 1050 910] "
        b"/ItalicAngle 0 /Ascent 905 /Descent -211 /CapHeight 1409 /StemV 80 >>",
        b"<< /Producer (LibreOffice 7.4) /Creator (Writer) >>",
    ]
    return _pdf(objects, root=1)
