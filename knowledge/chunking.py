"""Splits a document into retrievable chunks along its headings, then its sentences.

Each chunk keeps its heading path ("Title > Section > Subsection") as `context`, which is indexed with
the text: a passage that only says "Fast for 4 hours" is found by "CT scan preparation" because its
headings say so. Chunks stay under ~one MiniLM window (256 word pieces, about 1,000 characters).
"""

from __future__ import annotations

from knowledge.text import split_sentences
from knowledge.types import Chunk, Document

MAX_CHARS = 1000
MIN_CHARS = 200


def heading_context(title: str, heading_path: tuple[str, ...]) -> str:
    parts = [title, *heading_path] if title else list(heading_path)
    deduped = [p for i, p in enumerate(parts) if p and (i == 0 or p != parts[i - 1])]
    return " > ".join(deduped)


def _pack(sentences: list[str], max_chars: int) -> list[str]:
    """Greedy packing of whole sentences; a single over-long sentence is cut at word boundaries."""
    pieces: list[str] = []
    current = ""
    for sent in sentences:
        while len(sent) > max_chars:
            cut = sent.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sent[:cut].strip())
            sent = sent[cut:].strip()
        if current and len(current) + 1 + len(sent) > max_chars:
            pieces.append(current)
            current = sent
        else:
            current = f"{current}\n{sent}" if current else sent
    if current:
        pieces.append(current)
    # A short tail reads badly on its own: fold it into the previous piece when that stays reasonable.
    if (
        len(pieces) >= 2
        and len(pieces[-1]) < MIN_CHARS
        and len(pieces[-2]) + len(pieces[-1]) <= max_chars * 1.3
    ):
        pieces[-2:] = [pieces[-2] + "\n" + pieces[-1]]
    return pieces


def chunk_document(doc: Document, *, max_chars: int = MAX_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        sentences = split_sentences(section.text)
        if not sentences:
            continue
        context = heading_context(doc.title, section.heading_path)
        for piece in _pack(sentences, max_chars):
            index = len(chunks)
            chunks.append(Chunk(f"{doc.doc_id}#{index}", doc.doc_id, index, piece, context))
    return chunks
