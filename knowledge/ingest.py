"""Turns files into stored chunks: load, hash, skip what is unchanged, replace what changed, embed, store.

Idempotence comes from a content hash per document (text, heading structure, metadata and the chunker
version), stored on every chunk: re-ingesting unchanged content costs one metadata read and no embedding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from knowledge.chunking import chunk_document
from knowledge.loaders import LoadError, SourceDefaults, iter_files, load_file
from knowledge.store import ChromaStore
from knowledge.types import Chunk, Document, IngestReport, SkippedFile
from models.protocols import Embedder

log = logging.getLogger(__name__)

CHUNKER_VERSION = "1"
EMBED_BATCH = 256
EMBED_CHARS = 640  # about 128 word pieces


def content_hash(doc: Document) -> str:
    payload = {
        "v": CHUNKER_VERSION,
        "title": doc.title,
        "sections": [[list(s.heading_path), s.text] for s in doc.sections],
        "meta": [
            doc.record_id,
            doc.source,
            doc.url,
            doc.licence,
            doc.attribution,
            doc.language,
            doc.specialty,
            doc.qtype,
        ],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()


def chunk_metadata(doc: Document, chunk: Chunk, digest: str, heading: str) -> dict[str, Any]:
    """Chroma metadata must be flat scalars; empty strings stand for 'unknown'."""
    return {
        "doc_id": doc.doc_id,
        "chunk_index": chunk.index,
        "title": doc.title,
        "heading": heading,
        "source": doc.source,
        "url": doc.url,
        "licence": doc.licence,
        "attribution": doc.attribution,
        "language": doc.language,
        "specialty": doc.specialty,
        "qtype": doc.qtype,
        "record_id": doc.record_id or doc.doc_id,
        "content_hash": digest,
    }


def load_documents(
    paths: Sequence[Path], defaults: SourceDefaults, max_bytes: int
) -> tuple[list[Document], list[SkippedFile]]:
    docs: list[Document] = []
    skipped: list[SkippedFile] = []
    for path in iter_files(list(paths)):
        if not path.exists():
            skipped.append(SkippedFile(str(path), "no such file"))
            continue
        try:
            found, bad = load_file(path, defaults, max_bytes=max_bytes)
        except LoadError as exc:
            log.warning("skipped %s: %s", path, exc.reason)
            skipped.append(SkippedFile(str(path), exc.reason))
            continue
        docs += found
        skipped += bad
    return docs, skipped


def store_documents(
    store: ChromaStore, embedder: Embedder, docs: Iterable[Document], *, progress: bool = False
) -> IngestReport:
    """Adds new documents, replaces changed ones, leaves unchanged ones alone."""
    started = time.perf_counter()
    report = IngestReport()
    existing = store.document_hashes()
    seen: set[str] = set()
    pending: list[tuple[Document, str]] = []
    for doc in docs:
        if doc.doc_id in seen:
            report.skipped.append(SkippedFile(doc.doc_id, "duplicate document id in this run"))
            continue
        seen.add(doc.doc_id)
        digest = content_hash(doc)
        old = existing.get(doc.doc_id)
        if old == digest:
            report.unchanged.append(doc.doc_id)
            continue
        (report.replaced if old is not None else report.ingested).append(doc.doc_id)
        pending.append((doc, digest))

    if report.replaced:
        store.delete_documents(report.replaced)
    chunks: list[tuple[Chunk, dict[str, Any]]] = []
    for doc, digest in pending:
        for chunk in chunk_document(doc):
            heading = (
                chunk.context.removeprefix(doc.title).removeprefix(" > ") if doc.title else chunk.context
            )
            chunks.append((chunk, chunk_metadata(doc, chunk, digest, heading)))
    with tqdm(total=len(chunks), desc="embedding", unit="chunk", disable=not progress or not chunks) as bar:
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            vectors = embedder.embed([c.embedded_text(EMBED_CHARS) for c, _ in batch])
            store.add(
                [c.chunk_id for c, _ in batch], [c.text for c, _ in batch], [m for _, m in batch], vectors
            )
            bar.update(len(batch))
    report.chunks_added = len(chunks)
    if pending:
        store.bump_revision()
    report.seconds = time.perf_counter() - started
    return report
