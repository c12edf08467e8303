"""Reads files into `Document`s: the shared corpus JSONL, Markdown, HTML, PDF and plain text.

A file that cannot be read (empty, binary, too large, not UTF-8, a broken PDF) raises `LoadError`
with a reason a person understands; the ingest run reports it and carries on with the next file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.specialty import guess_specialty
from knowledge.text import detect_language, normalise
from knowledge.types import MEDQUAD_ATTRIBUTION, MEDQUAD_LICENCE, Document, Section, SkippedFile

SUPPORTED = {".jsonl", ".md", ".markdown", ".html", ".htm", ".pdf", ".txt", ".text"}
DEFAULT_MAX_BYTES = 50_000_000


class LoadError(Exception):
    """A file that cannot become documents; `reason` is shown to the person running the ingest."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SourceDefaults:
    """Metadata for files that do not carry their own (front matter, <meta>, JSONL fields win)."""

    source: str = "local"
    licence: str = ""
    attribution: str = ""
    specialty: str = ""


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """The given files, and the files inside the given folders (sorted, hidden ones left out)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield child
        else:
            yield path


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(f"broken UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise LoadError("binary content (NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc


def _is_medquad(record: dict[str, Any], path: Path) -> bool:
    return str(record.get("id", "")).startswith("medquad") or "medquad" in str(path).lower()


def jsonl_doc_id(record_id: str, title: str) -> str:
    """Record id plus a title slug: MedQuAD reuses one id for passages of different topics."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    return record_id if title == record_id or not slug else f"{record_id}:{slug}"


def _jsonl_documents(
    path: Path, text: str, defaults: SourceDefaults
) -> tuple[list[Document], list[SkippedFile]]:
    docs: list[Document] = []
    bad: list[SkippedFile] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(SkippedFile(where, f"invalid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or not str(record.get("text", "")).strip() or not record.get("id"):
            bad.append(SkippedFile(where, "record needs non-empty 'id' and 'text'"))
            continue
        body = normalise(str(record["text"]))
        title = str(record.get("title") or record.get("focus") or record["id"])
        qtype = str(record.get("qtype", ""))
        medquad = _is_medquad(record, path)
        source = str(record.get("source") or defaults.source)
        heading = (qtype[:1].upper() + qtype[1:],) if qtype else ()
        record_id = str(record["id"])
        docs.append(
            Document(
                doc_id=jsonl_doc_id(record_id, title),
                record_id=record_id,
                title=title,
                sections=(Section(heading, body),),
                source=source,
                url=str(record.get("url", "")),
                licence=str(record.get("licence") or record.get("license") or "")
                or (MEDQUAD_LICENCE if medquad else defaults.licence),
                attribution=str(record.get("attribution", ""))
                or (MEDQUAD_ATTRIBUTION if medquad else defaults.attribution),
                language=str(record.get("language") or detect_language(body)),
                specialty=str(
                    record.get("specialty") or defaults.specialty or guess_specialty(title, body, source)
                ),
                qtype=qtype,
            )
        )
    return docs, bad


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])"), r"\1"),
    (re.compile(r"<[^>]+>"), ""),
]


def _strip_inline(line: str) -> str:
    for pattern, repl in _MD_INLINE:
        line = pattern.sub(repl, line)
    return line


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def reflow(text: str) -> str:
    """Joins soft-wrapped lines into paragraphs (Markdown semantics), keeping list items and blank-line
    breaks, so that a sentence wrapped over two lines stays one sentence."""
    out: list[str] = []
    joinable = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            joinable = False
            continue
        if joinable and out and not line.startswith(("- ", "* ", "• ")):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        joinable = True
    return "\n".join(out)


def _sections_from_lines(lines: list[tuple[int, str] | str]) -> tuple[str, list[Section]]:
    """Builds heading-path sections from a stream of (level, heading) markers and body lines."""
    path: list[tuple[int, str]] = []
    title = ""
    sections: list[Section] = []
    body: list[str] = []

    def flush() -> None:
        text = reflow("\n".join(body))
        if text:
            sections.append(Section(tuple(h for _, h in path), text))
        body.clear()

    for item in lines:
        if isinstance(item, tuple):
            flush()
            level, heading = item
            if not title and level == 1:
                title = heading
                path = []
                continue
            path = [(lv, h) for lv, h in path if lv < level] + [(level, heading)]
        else:
            body.append(item)
    flush()
    return title, sections


def _markdown(text: str) -> tuple[dict[str, Any], str, list[Section]]:
    meta, text = _front_matter(text)
    items: list[tuple[int, str] | str] = []
    in_code = False
    for raw in text.splitlines():
        if raw.strip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else _MD_HEADING.match(raw)
        if match:
            items.append((len(match.group(1)), _strip_inline(match.group(2)).strip()))
        else:
            line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "- ", raw) if not in_code else raw
            line = re.sub(r"^\s*>\s?", "", line)
            items.append(_strip_inline(line))
    title, sections = _sections_from_lines(items)
    return meta, title, sections


_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dt", "dd", "td", "th", "pre", "blockquote",
                "figcaption", "caption"]  # fmt: skip


def _html(text: str) -> tuple[dict[str, Any], str, list[Section]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    meta: dict[str, Any] = {}
    html_tag = soup.find("html")
    if html_tag is not None and html_tag.get("lang"):
        meta["language"] = str(html_tag.get("lang")).split("-")[0].lower()
    for tag in soup.find_all("meta"):
        name = (
            str(tag.get("name") or tag.get("property") or "").lower().removeprefix("og:").removeprefix("dc.")
        )
        if name in {"source", "licence", "license", "specialty", "attribution", "url", "title", "rights"}:
            meta.setdefault("licence" if name in {"license", "rights"} else name, str(tag.get("content", "")))
    canonical = soup.find("link", rel="canonical")
    if canonical is not None and canonical.get("href"):
        meta.setdefault("url", str(canonical.get("href")))
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for junk in soup(["script", "style", "nav", "footer", "header", "noscript", "template", "svg", "form"]):
        junk.decompose()
    items: list[tuple[int, str] | str] = []
    for el in soup.find_all(_HTML_BLOCKS):
        if el.find_parent(_HTML_BLOCKS) is not None:
            continue
        words = el.get_text(" ", strip=True)
        if not words:
            continue
        if el.name and el.name[0] == "h" and el.name[1:].isdigit():
            items.append((int(el.name[1:]), words))
        else:
            items += [("- " + words) if el.name == "li" else words, ""]  # blocks never merge
    title, sections = _sections_from_lines(items)
    if not sections:
        body = soup.body.get_text("\n", strip=True) if soup.body else soup.get_text("\n", strip=True)
        sections = [Section((), body)] if body.strip() else []
    return meta, title or page_title, sections


def _looks_like_heading(line: str, next_blank: bool) -> bool:
    """Plain text and PDF have no markup: a short line without final punctuation, standing alone or in
    capitals, is taken as a heading."""
    s = line.strip()
    if not s or len(s) > 80 or s[-1] in ".,;:!?。，；：！？)" or s.startswith(("-", "*", "•")):
        return False
    words = s.split()
    if len(words) > 12 or not any(ch.isalpha() for ch in s):
        return False
    if s.isupper() and len(s) > 3:
        return True
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    return next_blank and capitalised >= max(1, len(words) * 0.6)


def _plain(text: str) -> tuple[str, list[Section]]:
    lines = text.splitlines()
    items: list[tuple[int, str] | str] = []
    for i, raw in enumerate(lines):
        md = _MD_HEADING.match(raw)
        if md:
            items.append((len(md.group(1)), md.group(2).strip()))
            continue
        next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
        prev_blank = i == 0 or not lines[i - 1].strip()
        if prev_blank and _looks_like_heading(raw, next_blank):
            items.append((2, raw.strip()))
        else:
            items.append(raw)
    _, sections = _sections_from_lines(items)
    return "", sections


def _pdf(data: bytes) -> tuple[dict[str, Any], str, list[Section]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise LoadError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError("PDF has no extractable text (scanned image or empty)")
    meta: dict[str, Any] = {}
    if info is not None and info.title:
        meta["title"] = str(info.title)
    _, sections = _plain(text)
    return meta, "", sections


def load_file(
    path: Path, defaults: SourceDefaults, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[SkippedFile]]:
    """Documents from one file, plus bad JSONL records (the file itself failing raises `LoadError`)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'!r}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"too large ({size:,} bytes > limit {max_bytes:,})")
        if size == 0:
            raise LoadError("empty file")
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read ({exc.strerror or exc})") from exc
    if suffix == ".jsonl":
        docs, bad = _jsonl_documents(path, _decode(data), defaults)
        if not docs and not bad:
            raise LoadError("no records")
        return docs, bad
    if suffix == ".pdf":
        if not data.lstrip().startswith(b"%PDF"):
            raise LoadError("not a PDF (missing %PDF header)")
        meta, title, sections = _pdf(data)
    else:
        text = _decode(data)
        if suffix in {".md", ".markdown"}:
            meta, title, sections = _markdown(text)
        elif suffix in {".html", ".htm"}:
            meta, title, sections = _html(text)
        else:
            meta, text = _front_matter(text)
            title, sections = _plain(text)
    sections = [Section(s.heading_path, normalise(s.text)) for s in sections if s.text.strip()]
    body = "\n\n".join(s.text for s in sections)
    if not body.strip():
        raise LoadError("no text content")
    title = str(meta.get("title") or title or path.stem.replace("_", " ").replace("-", " "))
    source = str(meta.get("source") or defaults.source)
    doc = Document(
        doc_id=str(meta.get("id") or f"file:{path.resolve().as_posix()}"),
        title=normalise(title),
        sections=tuple(sections),
        source=source,
        url=str(meta.get("url") or path.resolve().as_uri()),
        licence=str(meta.get("licence") or meta.get("license") or defaults.licence),
        attribution=str(meta.get("attribution") or defaults.attribution),
        language=str(meta.get("language") or detect_language(body)),
        specialty=str(meta.get("specialty") or defaults.specialty or guess_specialty(title, body, source)),
    )
    return [doc], []
