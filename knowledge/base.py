"""`KnowledgeBase`: the one object the dialogue layer and the CLI use (ingest, search, answer, remove, stats).

Built from `Settings`; the embedder comes from the model registry and the generator (for generated
answers) from the registry's LLM only when `settings.llm.capable` is set. Both can be injected.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from careline.paths import SHARED_DATA
from careline.settings import Settings
from knowledge.answer import Answerer, AnswerPolicy, Generator
from knowledge.ingest import load_documents, store_documents
from knowledge.loaders import SourceDefaults
from knowledge.retrieval import Filters, HybridRetriever, Mode
from knowledge.store import ChromaStore
from knowledge.types import Answer, Document, IngestReport, Passage
from models.protocols import Embedder


def default_corpus_path(settings: Settings) -> Path:
    """`chroma.corpus_path`, else the shared MedQuAD corpus beside the checkout (`CARELINE_SHARED_DATA`)."""
    return settings.chroma.corpus_path or (SHARED_DATA / "medquad" / "corpus.jsonl")


class KnowledgeBase:
    """The curated medical library: a Chroma collection plus BM25, answering only from what it holds."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        *,
        generator: Generator | None = None,
        policy: AnswerPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = ChromaStore(settings, embedder)
        self.retriever = HybridRetriever(self.store, embedder)
        self.answerer = Answerer(
            self.retriever,
            embedder,
            generator=generator,
            policy=policy or AnswerPolicy(min_confidence=settings.chroma.min_confidence),
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, generator: Generator | None = None) -> KnowledgeBase:
        """Embedder from the model registry; with `settings.llm.capable` the registry LLM words answers."""
        from models.registry import get_registry

        registry = get_registry(settings)
        if generator is None and settings.llm.capable:
            generator = registry.llm()
        return cls(settings, registry.embeddings(), generator=generator)

    # --- ingest / remove ----------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        defaults: SourceDefaults | None = None,
        progress: bool = False,
    ) -> IngestReport:
        """Ingests files and folders (JSONL, Markdown, HTML, PDF, text); bad files are reported, skipped."""
        docs, skipped = load_documents(
            [Path(p) for p in paths], defaults or SourceDefaults(), self.settings.chroma.max_file_bytes
        )
        report = self.ingest_documents(docs, progress=progress)
        report.skipped = skipped + report.skipped
        return report

    def ingest_documents(self, docs: Sequence[Document], *, progress: bool = False) -> IngestReport:
        report = store_documents(self.store, self.embedder, docs, progress=progress)
        if report.ingested or report.replaced:
            self.retriever.invalidate()
        return report

    def remove(self, *, doc_ids: Sequence[str] = (), source: str | None = None) -> list[str]:
        """Deletes documents by id and/or every document of a source; returns the ids removed."""
        targets: set[str] = set()
        if doc_ids:
            ids = list(doc_ids)
            targets |= self.store.doc_ids_where(
                {"$or": [{"doc_id": {"$in": ids}}, {"record_id": {"$in": ids}}]}
            )
        if source:
            targets |= self.store.doc_ids_where({"source": source})
        if targets:
            self.store.delete_documents(sorted(targets))
            self.store.bump_revision()
            self.retriever.invalidate()
        return sorted(targets)

    def bootstrap(self, corpus: Path | None = None, *, progress: bool = False) -> IngestReport | None:
        """Ingests the shared MedQuAD corpus when the library is empty; None when there was nothing to do."""
        if self.store.count() > 0:
            return None
        path = corpus or default_corpus_path(self.settings)
        return self.ingest([path], progress=progress)

    # --- read ---------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "hybrid",
        language: str | None = None,
        specialty: str | None = None,
        source: str | None = None,
    ) -> list[Passage]:
        return self.retriever.search(
            query, k, mode=mode, filters=Filters(language=language, specialty=specialty, source=source)
        )

    def answer(
        self,
        question: str,
        lang: str = "en",
        *,
        k: int = 5,
        specialty: str | None = None,
        source: str | None = None,
    ) -> Answer:
        """A grounded answer with citations, or covered=False ("I don't know", offer a human) in `lang`."""
        return self.answerer.answer(question, lang, k=k, specialty=specialty, source=source)

    async def aanswer(
        self,
        question: str,
        lang: str = "en",
        *,
        k: int = 5,
        specialty: str | None = None,
        source: str | None = None,
    ) -> Answer:
        """`answer` for async callers (retrieval runs in a worker thread, generation streams)."""
        return await self.answerer.aanswer(question, lang, k=k, specialty=specialty, source=source)

    def stats(self) -> dict[str, Any]:
        chunks = self.retriever.lexical().chunks
        docs: dict[str, dict[str, Any]] = {}
        for c in chunks:
            docs.setdefault(str(c.metadata.get("doc_id")), c.metadata)
        count = collections.Counter
        return {
            "location": self.store.location,
            "collection": self.settings.chroma.collection,
            "embedder": self.embedder.name,
            "documents": len(docs),
            "chunks": len(chunks),
            "by_source": dict(count(str(m.get("source", "")) for m in docs.values()).most_common()),
            "by_language": dict(count(str(m.get("language", "")) for m in docs.values()).most_common()),
            "by_specialty": dict(
                count(str(m.get("specialty", "")) or "-" for m in docs.values()).most_common()
            ),
            "by_licence": dict(count(str(m.get("licence", "")) or "-" for m in docs.values()).most_common()),
        }
