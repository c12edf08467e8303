"""BM25 over the same chunks Chroma holds, rebuilt from Chroma's stored documents.

Chroma is the single source of truth: the index is (re)built from its documents and metadata when a
process starts and whenever the collection's revision moves (after any ingest or remove, by any process),
so the two can never disagree. Rebuilding ~8k chunks takes about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from knowledge.chunking import heading_context
from knowledge.store import StoredChunk
from knowledge.text import tokenize

HEADING_BOOST = 2  # title and headings count twice (a BM25F-style field boost, standard practice; not tuned)


def indexed_text(chunk: StoredChunk, heading_boost: int = 1) -> str:
    """What is searchable for a chunk: its title and heading path, then its text."""
    meta = chunk.metadata
    context = heading_context(
        str(meta.get("title", "")), tuple(h for h in str(meta.get("heading", "")).split(" > ") if h)
    )
    return f"{(context + chr(10)) * heading_boost}{chunk.text}" if context else chunk.text


class LexicalIndex:
    """A BM25 (Lucene variant, k1=1.5, b=0.75) index with metadata kept alongside for filtering."""

    def __init__(self, chunks: Sequence[StoredChunk], revision: int = 0) -> None:
        self.revision = revision
        self.chunks = list(chunks)
        self._retriever: bm25s.BM25 | None = None
        self._columns: dict[str, npt.NDArray[Any]] = {}
        if not self.chunks:
            return
        tokens = [tokenize(indexed_text(c, HEADING_BOOST)) or ["\u2205"] for c in self.chunks]
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        for key in ("language", "specialty", "source", "doc_id"):
            self._columns[key] = np.array([str(c.metadata.get(key, "")) for c in self.chunks], dtype=object)

    def __len__(self) -> int:
        return len(self.chunks)

    def languages(self) -> set[str]:
        """Languages the library holds (what a question must be in to be answerable)."""
        return set(self._columns["language"].tolist()) if self.chunks else set()

    def mask(self, filters: dict[str, str | Sequence[str]]) -> npt.NDArray[np.bool_]:
        keep = np.ones(len(self.chunks), dtype=bool)
        for key, wanted in filters.items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            keep &= np.isin(self._columns[key], values)
        return keep

    def search(
        self, query: str, n: int, filters: dict[str, str | Sequence[str]]
    ) -> list[tuple[StoredChunk, float]]:
        """Top-n chunks by BM25 score (> 0 only), restricted to chunks whose metadata match `filters`."""
        if self._retriever is None:
            return []
        vocab = self._retriever.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float64)
        if filters:
            scores = np.where(self.mask(filters), scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]
