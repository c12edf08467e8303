"""Hybrid retrieval: Chroma vector search and BM25, fused by reciprocal rank fusion (RRF).

Why RRF: cosine similarities (bounded, dense) and BM25 scores (unbounded, query-length dependent) live
on different scales, and min-max normalising either one per query makes the fused score depend on the
worst candidate that happened to be retrieved. RRF only uses ranks, so it needs no calibration, is robust
to either retriever failing on a query, and is the standard baseline that tuned score fusion rarely beats.
Calibrated *confidence* is taken separately from the cosine similarity of the passages (see `answer`).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from knowledge.lexical import LexicalIndex
from knowledge.store import ChromaStore, StoredChunk
from knowledge.text import normalise
from knowledge.types import Citation, Passage
from models.protocols import Embedder

Mode = Literal["hybrid", "vector", "bm25"]
RRF_K = 60
CANDIDATES = 50
QUERY_CACHE = 512


@dataclass(frozen=True)
class Filters:
    """Metadata restrictions; each is one value or a list of accepted values."""

    language: str | Sequence[str] | None = None
    specialty: str | Sequence[str] | None = None
    source: str | Sequence[str] | None = None

    def as_dict(self) -> dict[str, str | Sequence[str]]:
        return {k: v for k, v in (("language", self.language), ("specialty", self.specialty),
                                  ("source", self.source)) if v}  # fmt: skip

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        for key, value in self.as_dict().items():
            values = [value] if isinstance(value, str) else list(value)
            clauses.append({key: values[0]} if len(values) == 1 else {key: {"$in": values}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def citation_for(chunk: StoredChunk) -> Citation:
    m = chunk.metadata
    return Citation(
        chunk_id=chunk.chunk_id,
        doc_id=str(m.get("doc_id", "")),
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        url=str(m.get("url", "")),
        licence=str(m.get("licence", "")),
        attribution=str(m.get("attribution", "")),
        heading=str(m.get("heading", "")),
    )


def normalise_query(query: str) -> str:
    """Same normalisation as the indexed text, and no stray punctuation runs ('What is (are) X ?')."""
    q = normalise(query).replace("(are)", "").replace("(is)", "")
    return " ".join(q.split())


class HybridRetriever:
    """Searches the store; keeps its BM25 index in step with the collection's revision."""

    def __init__(self, store: ChromaStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()
        self._query_vectors: collections.OrderedDict[str, npt.NDArray[np.float32]] = collections.OrderedDict()

    def embed_query(self, query: str) -> npt.NDArray[np.float32]:
        """The query's embedding, remembered for the last few hundred queries: a question is embedded
        once even when it is searched in several modes and then answered."""
        with self._lock:
            if query in self._query_vectors:
                self._query_vectors.move_to_end(query)
                return self._query_vectors[query]
        vector = self.embedder.embed([query])[0]
        with self._lock:
            self._query_vectors[query] = vector
            while len(self._query_vectors) > QUERY_CACHE:
                self._query_vectors.popitem(last=False)
        return vector

    def lexical(self) -> LexicalIndex:
        """The BM25 index for the current revision, rebuilt from Chroma if the library changed."""
        revision = self.store.revision()
        with self._lock:
            if self._lexical is None or self._lexical.revision != revision:
                self._lexical = LexicalIndex(self.store.all_chunks(), revision)
            return self._lexical

    def invalidate(self) -> None:
        with self._lock:
            self._lexical = None

    def search(
        self, query: str, k: int = 5, *, mode: Mode = "hybrid", filters: Filters | None = None,
        candidates: int = CANDIDATES,
    ) -> list[Passage]:  # fmt: skip
        """Top-k passages, best first, each with its fused score and citation."""
        filters = filters or Filters()
        query = normalise_query(query)
        if not query:
            return []
        n = max(candidates, k)
        vector_hits: list[tuple[StoredChunk, float]] = []
        qvec = self.embed_query(query)
        if mode in ("hybrid", "vector"):
            vector_hits = self.store.query(qvec, n, filters.chroma_where())
        bm25_hits = self.lexical().search(query, n, filters.as_dict()) if mode in ("hybrid", "bm25") else []

        chunks: dict[str, StoredChunk] = {}
        fused: dict[str, float] = {}
        sims: dict[str, float] = {}
        vrank: dict[str, int] = {}
        brank: dict[str, int] = {}
        for rank, (chunk, sim) in enumerate(vector_hits, 1):
            chunks[chunk.chunk_id] = chunk
            sims[chunk.chunk_id] = sim
            vrank[chunk.chunk_id] = rank
            fused[chunk.chunk_id] = fused.get(chunk.chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (chunk, _score) in enumerate(bm25_hits, 1):
            chunks.setdefault(chunk.chunk_id, chunk)
            brank[chunk.chunk_id] = rank
            fused[chunk.chunk_id] = fused.get(chunk.chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        if mode == "bm25":
            fused = {cid: float(score) for cid, score in ((c.chunk_id, s) for c, s in bm25_hits)}
        elif mode == "vector":
            fused = dict(sims)
        top = sorted(fused, key=lambda cid: -fused[cid])[:k]
        missing = [cid for cid in top if cid not in sims]
        for cid, vec in self.store.embeddings_for(missing).items():
            sims[cid] = float(np.dot(vec, qvec))
        return [
            Passage(
                chunk_id=cid,
                doc_id=str(chunks[cid].metadata.get("doc_id", "")),
                text=chunks[cid].text,
                score=fused[cid],
                citation=citation_for(chunks[cid]),
                language=str(chunks[cid].metadata.get("language", "")),
                specialty=str(chunks[cid].metadata.get("specialty", "")),
                vector_similarity=sims.get(cid),
                vector_rank=vrank.get(cid),
                bm25_rank=brank.get(cid),
            )
            for cid in top
        ]
