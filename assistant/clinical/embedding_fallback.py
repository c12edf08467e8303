"""Embedding-similarity fallback for phrasing the lexicon misses.

Each clause of patient text that produced no lexicon finding is compared with the lexicon's
English synonyms; a concept is added only when the best match clears a high threshold *and*
beats the runner-up concept by a margin. The packaged MiniLM is English-only, so Chinese
clauses are left to the lexicon. Fallback findings are marked ``method="embedding"`` and carry
the whole clause as their evidence span.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assistant.clinical.findings import Finding
from assistant.clinical.lexicon import Lexicon
from assistant.clinical.textutil import has_cjk, normalize, split_clauses
from models.protocols import Embedder

DEFAULT_THRESHOLD = 0.75
DEFAULT_MARGIN = 0.10
ELIGIBLE_KINDS = ("symptom", "sign")


class EmbeddingFallback:
    """Maps unmatched English clauses to the nearest concept, conservatively."""

    def __init__(
        self,
        embedder: Embedder,
        lexicon: Lexicon,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.embedder = embedder
        self.lexicon = lexicon
        self.threshold = threshold
        self.margin = margin
        phrases: list[str] = []
        owners: list[str] = []
        for concept in lexicon.concepts.values():
            if concept.kind not in ELIGIBLE_KINDS or not concept.fallback:
                continue
            for syn in (concept.label["en"], *concept.synonyms["en"]):
                if syn.startswith("re:") or (len(syn.split()) < 2 and len(syn) < 5):
                    continue
                phrases.append(syn)
                owners.append(concept.id)
        self._owners = owners
        self._vectors: npt.NDArray[np.float32] = embedder.embed(phrases)

    def best(self, clause: str) -> tuple[str, float, float]:
        """(concept, best score, runner-up score from a different concept) for one clause."""
        vec = self.embedder.embed([clause])[0]
        sims = self._vectors @ vec
        order = np.argsort(-sims)
        top = self._owners[int(order[0])]
        second = next((float(sims[i]) for i in order[1:] if self._owners[int(i)] != top), 0.0)
        return top, float(sims[order[0]]), second

    def find(self, text: str, covered: Sequence[Finding] = ()) -> list[Finding]:
        """Findings for clauses of ``text`` that no existing finding covers."""
        out: list[Finding] = []
        spans = [(f.start, f.end) for f in covered if f.source == text]
        for start, end in split_clauses(text):
            raw = text[start:end]
            lead = len(raw) - len(raw.lstrip())
            clause = raw.strip()
            s, e = start + lead, start + lead + len(clause)
            if len(clause) < 6 or len(clause) > 200 or has_cjk(clause):
                continue
            if any(not (e <= a or s >= b) for a, b in spans):
                continue
            concept, score, second = self.best(clause)
            if score < self.threshold or score - second < self.margin:
                continue
            out.append(
                Finding(
                    concept=concept,
                    present=self.lexicon.clause_polarity(normalize(clause)),
                    evidence=clause,
                    start=s,
                    end=e,
                    source=text,
                    method="embedding",
                    score=round(score, 4),
                )
            )
        return out
