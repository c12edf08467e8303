"""The plain data the knowledge base passes around: documents, chunks, passages, answers, reports.

Kept free of Chroma and model imports so that the dialogue layer can type against them cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "zh"]

MEDQUAD_LICENCE = "CC BY 4.0"
MEDQUAD_ATTRIBUTION = (
    "MedQuAD: Ben Abacha A., Demner-Fushman D. A question-entailment approach to question answering. "
    "BMC Bioinformatics 20, 511 (2019). CC BY 4.0. Source pages: NIH/CDC (US government works)."
)


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path (outermost heading first)."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Document:
    """One source document as loaded, before chunking. `doc_id` is stable across re-ingests."""

    doc_id: str
    title: str
    sections: tuple[Section, ...]
    source: str
    url: str = ""
    licence: str = ""
    attribution: str = ""
    language: str = "en"
    specialty: str = ""
    qtype: str = ""
    record_id: str = ""  # the id the source data uses (MedQuAD reuses ids across topics; doc_id does not)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document; `context` (title + heading path) is indexed with the text."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    context: str

    @property
    def indexed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text

    def embedded_text(self, max_chars: int) -> str:
        """What the vector side sees: heading path and the chunk's opening (MiniLM was trained on 128 word
        pieces; BM25 still indexes the whole chunk), which also keeps CPU ingest affordable."""
        return self.indexed_text[:max_chars]


@dataclass(frozen=True)
class Citation:
    """Where a passage comes from; everything a reply needs to show its source and honour its licence."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    url: str
    licence: str
    attribution: str
    heading: str = ""

    def label(self) -> str:
        """A one-line human-readable reference, e.g. for a 'Sources:' footer."""
        parts = [self.title or self.doc_id]
        if self.heading:
            parts.append(self.heading)
        parts.append(self.source)
        text = " - ".join(p for p in parts if p)
        if self.url:
            text += f" <{self.url}>"
        if self.licence:
            text += f" ({self.licence})"
        return text


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the per-retriever evidence behind it."""

    chunk_id: str
    doc_id: str
    text: str
    score: float
    citation: Citation
    language: str
    specialty: str
    vector_similarity: float | None = None
    vector_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer and the index (into `Answer.citations`) of the passage it came from."""

    text: str
    citation_index: int
    support: float


@dataclass(frozen=True)
class Answer:
    """A grounded reply. `covered=False`: the library does not answer the question; say so, offer a human."""

    text: str
    citations: tuple[Citation, ...]
    confidence: float
    covered: bool
    language: str = "en"
    sentences: tuple[AnswerSentence, ...] = ()
    mode: Literal["extractive", "generative", "declined"] = "extractive"
    offer_human: bool = False
    unsupported: tuple[str, ...] = ()  # generated sentences dropped because no retrieved passage backs them

    @property
    def attributions(self) -> tuple[str, ...]:
        """The distinct attribution strings every shown answer must carry (e.g. MedQuAD's CC BY notice)."""
        seen: dict[str, None] = {}
        for c in self.citations:
            if c.attribution:
                seen.setdefault(c.attribution, None)
        return tuple(seen)

    def with_sources(self) -> str:
        """The answer text with numbered markers and a 'Sources' footer (for text channels, not speech)."""
        if not self.citations:
            return self.text
        body = " ".join(f"{s.text} [{s.citation_index + 1}]" for s in self.sentences) or self.text
        lines = [body, "", "Sources:" if self.language != "zh" else "来源："]
        lines += [f"[{i + 1}] {c.label()}" for i, c in enumerate(self.citations)]
        lines += [f"  {a}" for a in self.attributions]
        return "\n".join(lines)


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did, document by document; bad inputs are listed, never fatal."""

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks_added: int = 0
    seconds: float = 0.0

    def merge(self, other: IngestReport) -> None:
        self.ingested += other.ingested
        self.unchanged += other.unchanged
        self.replaced += other.replaced
        self.skipped += other.skipped
        self.chunks_added += other.chunks_added
        self.seconds += other.seconds

    def summary(self) -> str:
        return (
            f"ingested {len(self.ingested)}, replaced {len(self.replaced)}, unchanged {len(self.unchanged)}, "
            f"skipped {len(self.skipped)}, chunks added {self.chunks_added} in {self.seconds:.1f}s"
        )
