"""Small documents in every supported format, written into a test's tmp_path."""

from __future__ import annotations

from pathlib import Path

MARKDOWN = """---
title: Preparing for your CT scan
source: Careline Radiology
url: https://careline.example/ct-prep
licence: CC BY 4.0
specialty: radiology
---
# Preparing for your CT scan

## Before the scan

### Fasting
Do not eat anything for four hours before a CT scan with contrast. You may drink clear water up to two hours
before the scan. Take your usual medicines with a sip of water unless your doctor told you otherwise.

### Metformin
If you take metformin for diabetes, tell the radiology team before the scan.

## After the scan
Drink plenty of water for the rest of the day to help your kidneys clear the contrast dye.
"""

HTML = """<!doctype html>
<html lang="en"><head><title>Wound care after surgery</title>
<meta name="source" content="Careline Surgery"><meta name="licence" content="Internal">
<link rel="canonical" href="https://careline.example/wound-care">
<script>var tracking = "ignore me";</script></head>
<body><nav>Home | Contact</nav>
<h1>Wound care after surgery</h1>
<h2>Keeping the wound clean</h2>
<p>Keep the dressing dry and in place for the first 48 hours after your operation.</p>
<p>After two days you may shower, but pat the wound dry with a clean towel and do not soak it in a bath.</p>
<h2>Signs of infection</h2>
<ul><li>Redness or swelling that spreads around the wound.</li><li>Pus or a bad smell from the wound.</li>
<li>A fever above 38 degrees Celsius.</li></ul>
<footer>Copyright</footer></body></html>
"""

TEXT = """RADIOTHERAPY SIDE EFFECTS

Radiotherapy often makes people feel tired, and the tiredness can last for weeks after treatment ends.
The skin in the treated area may become red, dry or itchy, similar to sunburn.

Looking After Your Skin

Wash the treated skin gently with lukewarm water and unperfumed soap. Avoid sun exposure on the treated area.
"""

PDF_LINES = [
    "BLOOD PRESSURE AT HOME",
    "Sit quietly for five minutes before you measure your blood pressure.",
    "Measure twice in the morning and twice in the evening, and write down every reading.",
]


def pdf_bytes(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF with the given text lines (Helvetica), with a correct xref table."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_library(folder: Path) -> dict[str, Path]:
    """One file per format; returns them by format name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "md": folder / "ct-prep.md",
        "html": folder / "wound-care.html",
        "txt": folder / "radiotherapy.txt",
        "pdf": folder / "blood-pressure.pdf",
    }
    files["md"].write_text(MARKDOWN, encoding="utf-8")
    files["html"].write_text(HTML, encoding="utf-8")
    files["txt"].write_text(TEXT, encoding="utf-8")
    files["pdf"].write_bytes(pdf_bytes(PDF_LINES))
    return files


def write_bad_files(folder: Path, max_bytes: int) -> dict[str, Path]:
    """One broken input of each kind the ingest must report and skip."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty": folder / "empty.md",
        "binary": folder / "binary.txt",
        "huge": folder / "huge.txt",
        "encoding": folder / "latin1.txt",
        "pdf": folder / "broken.pdf",
        "unsupported": folder / "photo.png",
    }
    files["empty"].write_bytes(b"")
    files["binary"].write_bytes(b"\x00\x01\x02\x03binary\x00data" * 10)
    files["huge"].write_text("Too big to ingest. " * (max_bytes // 10), encoding="utf-8")
    files["encoding"].write_bytes("Caf\xe9 au lait and na\xefve patients.".encode("latin-1"))
    files["pdf"].write_bytes(
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<<>>\n%%EOF"
    )
    files["unsupported"].write_bytes(b"\x89PNG\r\n\x1a\n")
    return files
