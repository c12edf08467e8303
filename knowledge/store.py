"""The Chroma collection that holds the chunks: an embedded folder by default, a `chroma run` server
when `settings.chroma.host` is set. Nothing else in the package knows which one it is talking to.

Every chunk's metadata carries its document id and the document's content hash, so the store itself is
the record of what has been ingested (no side database to drift out of step). A revision counter in the
collection metadata lets every process notice that another one changed the library.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import chromadb
import numpy as np
import numpy.typing as npt
from chromadb.config import Settings as ChromaClientSettings

from careline.errors import ConfigError
from careline.settings import Settings
from knowledge.embedding import RegistryEmbeddingFunction
from models.protocols import Embedder

log = logging.getLogger(__name__)

PAGE = 2000
REVISION_KEY = "careline_revision"


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]


def make_client(settings: Settings) -> Any:
    """A Chroma client for the configured mode, telemetry off (nothing leaves the machine)."""
    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    if settings.chroma.host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma.host, port=settings.chroma.port, settings=client_settings
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants here
            raise ConfigError(
                "CARELINE_CHROMA__HOST",
                f"cannot reach the Chroma server at {settings.chroma.host}:{settings.chroma.port} ({exc})",
                "start it with `chroma run --path <folder> --port <port>` or unset the host to use a folder",
            ) from exc
    path = settings.chroma_path
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=client_settings)


class ChromaStore:
    """Chunks with their embeddings and metadata, in one Chroma collection (cosine space)."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.client = make_client(settings)
        self.embedding_function = RegistryEmbeddingFunction(embedder)
        self.collection = self.client.get_or_create_collection(
            name=settings.chroma.collection,
            embedding_function=self.embedding_function,
            metadata={"hnsw:space": "cosine", "embedder": embedder.name},
        )

    @property
    def location(self) -> str:
        if self.settings.chroma.host:
            return f"http://{self.settings.chroma.host}:{self.settings.chroma.port}"
        return str(self.settings.chroma_path)

    # --- revision: lets other processes (CLI, workers) see that the library changed ---------------------

    def revision(self) -> int:
        meta = self.client.get_collection(
            self.settings.chroma.collection, embedding_function=self.embedding_function
        ).metadata
        return int((meta or {}).get(REVISION_KEY, 0))

    def bump_revision(self) -> None:
        current = self.client.get_collection(
            self.settings.chroma.collection, embedding_function=self.embedding_function
        )
        meta = dict(current.metadata or {})
        meta[REVISION_KEY] = int(meta.get(REVISION_KEY, 0)) + 1
        meta.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to change it
        current.modify(metadata=meta)

    # --- reads --------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.collection.count())

    def _get_pages(self, where: dict[str, Any] | None, include: list[str]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.collection.get(where=where, include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield cast(dict[str, Any], page)
            if len(page["ids"]) < PAGE:
                return
            offset += PAGE

    def document_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every stored document (read from each document's first chunk)."""
        hashes: dict[str, str] = {}
        for page in self._get_pages({"chunk_index": 0}, ["metadatas"]):
            for meta in page["metadatas"]:
                hashes[str(meta["doc_id"])] = str(meta.get("content_hash", ""))
        return hashes

    def all_chunks(self) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        for page in self._get_pages(None, ["documents", "metadatas"]):
            out += [
                StoredChunk(i, d or "", dict(m or {}))
                for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            ]
        return out

    def doc_ids_where(self, where: dict[str, Any]) -> set[str]:
        ids: set[str] = set()
        for page in self._get_pages(where, ["metadatas"]):
            ids.update(str(m["doc_id"]) for m in page["metadatas"])
        return ids

    def has_language(self, language: str) -> bool:
        return bool(self.collection.get(where={"language": language}, limit=1, include=[])["ids"])

    def embeddings_for(self, chunk_ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        if not chunk_ids:
            return {}
        got = self.collection.get(ids=list(chunk_ids), include=["embeddings"])
        return {
            i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"], strict=True)
        }

    def query(
        self, vector: npt.NDArray[np.float32], n: int, where: dict[str, Any] | None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - cosine distance), best first."""
        total = self.count()
        if total == 0:
            return []
        res = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(n, total),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = res["ids"][0]
        docs = (res["documents"] or [[]])[0]
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        return [
            (StoredChunk(i, d or "", dict(m or {})), 1.0 - float(dist))
            for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)
        ]

    # --- writes -------------------------------------------------------------------------------------

    def add(
        self,
        ids: list[str],
        texts: list[str],
        metadatas: list[dict[str, Any]],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        self.collection.upsert(ids=ids, documents=texts, metadatas=metadatas, embeddings=vectors)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        for start in range(0, len(doc_ids), 500):
            batch = list(doc_ids[start : start + 500])
            self.collection.delete(where={"doc_id": {"$in": batch}})
