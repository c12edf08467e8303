"""Grounded answers: only from retrieved passages, every sentence cited, "I don't know" below a threshold.

Two ways to word an answer:
- extractive (default; the small local LLM is not trusted to paraphrase medicine): score the sentences of
  the best passages by embedding similarity to the question plus lexical overlap, keep 2-4, in reading order;
- generative (a capable LLM is configured): the LLM writes from the numbered passages, then every generated
  sentence is checked against the passages' sentences; unsupported ones are dropped (and reported).
Either way a citation can only point at a passage the retriever returned for this question.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from careline.sync import run_sync
from knowledge.retrieval import Filters, HybridRetriever, normalise_query
from knowledge.text import detect_language, split_sentences, tokenize
from knowledge.types import Answer, AnswerSentence, Passage
from models.protocols import ChatMessage, Embedder

T = TypeVar("T")

DECLINE = {
    "en": (
        "I'm sorry, I don't know. Our medical library doesn't cover this question, so I can't give you a "
        "reliable answer. Would you like me to put you in touch with a nurse?"
    ),
    "zh": "抱歉，我不知道。我们的医学资料库没有涵盖这个问题，我无法给您可靠的回答。需要我为您联系护士吗？",
}


class Generator(Protocol):
    """Anything that streams reply text for chat messages (e.g. `models.protocols.TextGenerator`)."""

    def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]: ...


@dataclass(frozen=True)
class AnswerPolicy:
    """Thresholds, documented in docs/knowledge.md. Confidence = 0.6 x cosine(question, best passage)
    + 0.4 x share of the question's content words found in that passage (title and headings included)."""

    min_confidence: float = 0.5
    passages: int = 3  # passages whose sentences may be quoted
    passage_margin: float = 0.12  # ... if their cosine is within this of the best one
    max_sentences: int = 4
    min_sentences: int = 2
    sentence_margin: float = 0.15  # keep sentences scoring within this of the best sentence
    support_threshold: float = 0.55  # generated sentence must be this close to a passage sentence
    max_new_tokens: int = 220


def decline(lang: str, confidence: float = 0.0) -> Answer:
    lang = lang if lang in DECLINE else "en"
    return Answer(
        DECLINE[lang], (), confidence, covered=False, language=lang, mode="declined", offer_human=True
    )


def lexical_overlap(query_tokens: set[str], text: str) -> float:
    """Share of the question's content tokens that appear in `text`."""
    if not query_tokens:
        return 0.0
    return len(query_tokens & set(tokenize(text))) / len(query_tokens)


def confidence_of(question: str, passage: Passage) -> float:
    sim = max(0.0, passage.vector_similarity or 0.0)
    context = f"{passage.citation.title} {passage.citation.heading} {passage.text}"
    return round(0.6 * sim + 0.4 * lexical_overlap(set(tokenize(question)), context), 4)


_HEADINGISH = re.compile(r"^[^.!?。！？]{0,60}$")


def _quotable(sentence: str) -> bool:
    words = sentence.split()
    return (4 <= len(words) <= 70 or detect_language(sentence) == "zh") and not (
        _HEADINGISH.match(sentence) and len(words) <= 6
    )


def _finish(sentence: str) -> str:
    s = sentence.strip().lstrip("-*• ").strip()
    if s and s[-1] not in ".!?。！？:;)\"'":
        s += "。" if detect_language(s) == "zh" else "."
    return s[:1].upper() + s[1:] if s[:1].isalpha() else s


def _join(sentences: Iterable[str]) -> str:
    """Chinese sentences run on without spaces; others are separated by one."""
    out = ""
    for sent in sentences:
        out += sent if not out or detect_language(sent) == "zh" else " " + sent
    return out


class Answerer:
    """Answers questions from the library through a retriever; optionally words them with a capable LLM."""

    def __init__(
        self,
        retriever: HybridRetriever,
        embedder: Embedder,
        *,
        generator: Generator | None = None,
        policy: AnswerPolicy | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.generator = generator
        self.policy = policy or AnswerPolicy()

    # --- public -------------------------------------------------------------------------------------

    def answer(
        self,
        question: str,
        lang: str = "en",
        *,
        k: int = 5,
        specialty: str | None = None,
        source: str | None = None,
    ) -> Answer:
        """Answers in `lang` ('en' or 'zh'); blocks. Inside async code prefer `aanswer`."""
        if self.generator is not None:
            return run_sync(self.aanswer(question, lang, k=k, specialty=specialty, source=source))
        passages, confidence = self._retrieve(question, k, specialty, source)
        if not passages:
            return decline(lang, confidence)
        return self._extractive(question, passages, confidence, lang)

    async def aanswer(
        self,
        question: str,
        lang: str = "en",
        *,
        k: int = 5,
        specialty: str | None = None,
        source: str | None = None,
    ) -> Answer:
        passages, confidence = await asyncio.to_thread(self._retrieve, question, k, specialty, source)
        if not passages:
            return decline(lang, confidence)
        if self.generator is None:
            return await asyncio.to_thread(self._extractive, question, passages, confidence, lang)
        generated = await self._generate(question, passages, lang)
        answer = await asyncio.to_thread(self._verify, question, generated, passages, confidence, lang)
        if answer is None:
            return await asyncio.to_thread(self._extractive, question, passages, confidence, lang)
        return answer

    # --- steps --------------------------------------------------------------------------------------

    def _retrieve(
        self, question: str, k: int, specialty: str | None, source: str | None
    ) -> tuple[list[Passage], float]:
        """Passages good enough to answer from (empty = not covered), and the confidence."""
        question = question.strip()
        if not question:
            return [], 0.0
        qlang = detect_language(question)
        lexical = self.retriever.lexical()
        if qlang not in lexical.languages():
            return [], 0.0  # the library has nothing in the question's language: never answer across it
        passages = self.retriever.search(
            question, k, filters=Filters(language=qlang, specialty=specialty, source=source)
        )
        if not passages:
            return [], 0.0
        best = max(passages, key=lambda p: confidence_of(question, p))
        confidence = confidence_of(question, best)
        if confidence < self.policy.min_confidence:
            return [], confidence
        # Best-supported passage first, then the rest in retrieval order.
        ordered = [best, *[p for p in passages if p.chunk_id != best.chunk_id]]
        return ordered, confidence

    def _candidates(self, passages: list[Passage]) -> list[Passage]:
        """The best passage, plus close runners-up on the same topic (same document title): quoting
        neighbouring topics (hyper- next to hypothyroidism) would mislead more than it informs."""
        best = passages[0]
        top = best.vector_similarity or 0.0
        keep = [best] + [
            p
            for p in passages[1:]
            if p.citation.title == best.citation.title
            and (p.vector_similarity or 0.0) >= top - self.policy.passage_margin
        ]
        return keep[: self.policy.passages]

    def _extractive(self, question: str, passages: list[Passage], confidence: float, lang: str) -> Answer:
        pool = self._candidates(passages)
        items: list[tuple[int, int, str]] = []  # (passage index, sentence index, sentence)
        for pi, passage in enumerate(pool):
            for si, sent in enumerate(split_sentences(passage.text)):
                if _quotable(sent):
                    items.append((pi, si, sent))
        if not items:
            return decline(lang, confidence)
        qvec = self.retriever.embed_query(normalise_query(question))
        svecs = self.embedder.embed([s for _, _, s in items])
        qtokens = set(tokenize(question))
        top_sim = pool[0].vector_similarity or 0.0
        scores = [
            float(np.dot(svecs[i], qvec))
            + 0.3 * lexical_overlap(qtokens, items[i][2])
            + 0.5 * ((pool[items[i][0]].vector_similarity or 0.0) - top_sim)
            - 0.01 * items[i][1]
            for i in range(len(items))
        ]
        order = sorted(range(len(items)), key=lambda i: -scores[i])
        chosen: list[int] = []
        for i in order:
            if len(chosen) >= self.policy.max_sentences:
                break
            if chosen and scores[i] < scores[order[0]] - self.policy.sentence_margin:
                break
            if any(self._similar(svecs[i], svecs[j], items[i][2], items[j][2]) for j in chosen):
                continue
            chosen.append(i)
        # A lone sentence reads abruptly: add the one that follows it in the same passage.
        if len(chosen) < self.policy.min_sentences:
            pi, si, _ = items[chosen[0]]
            follow = [j for j, (p, s, _) in enumerate(items) if p == pi and s > si]
            if follow:
                chosen.append(follow[0])
        chosen.sort(key=lambda i: (items[i][0], items[i][1]))
        used = sorted({items[i][0] for i in chosen})
        citations = tuple(pool[pi].citation for pi in used)
        sentences = tuple(
            AnswerSentence(_finish(items[i][2]), used.index(items[i][0]), round(scores[i], 4)) for i in chosen
        )
        return Answer(
            _join(s.text for s in sentences), citations, confidence, covered=True,
            language=lang, sentences=sentences, mode="extractive",
        )  # fmt: skip

    @staticmethod
    def _similar(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], ta: str, tb: str) -> bool:
        ka, kb = set(tokenize(ta)), set(tokenize(tb))
        jaccard = len(ka & kb) / max(1, len(ka | kb))
        return float(np.dot(a, b)) > 0.92 or jaccard > 0.7

    async def _generate(self, question: str, passages: list[Passage], lang: str) -> str:
        assert self.generator is not None
        numbered = "\n\n".join(f"[{i + 1}] {p.citation.title}: {p.text}" for i, p in enumerate(passages))
        language = "Chinese" if lang == "zh" else "English"
        messages = [
            ChatMessage(
                "system",
                "You answer patients' questions using ONLY the numbered passages from a medical library. "
                f"Write 2-4 short, plain sentences in {language}. Do not add facts, advice or numbers that "
                "the passages do not state. If the passages do not answer the question, say you don't know.",
            ),
            ChatMessage("user", f"Passages:\n{numbered}\n\nQuestion: {question}"),
        ]
        parts: list[str] = []
        stream = self.generator.stream(messages, max_new_tokens=self.policy.max_new_tokens)
        async for token in stream:
            parts.append(token)
        return re.sub(r"\[\d+\]", "", "".join(parts)).strip()

    def _verify(
        self, question: str, generated: str, passages: list[Passage], confidence: float, lang: str
    ) -> Answer | None:
        """Keeps generated sentences that a retrieved passage supports; None when none survive."""
        sentences = [s for s in split_sentences(generated) if s.strip()]
        if not sentences:
            return None
        evidence: list[tuple[int, str]] = [
            (pi, s) for pi, p in enumerate(passages) for s in split_sentences(p.text) if s.strip()
        ]
        if not evidence:
            return None
        gvecs = self.embedder.embed(sentences)
        evecs = self.embedder.embed([s for _, s in evidence])
        sims = gvecs @ evecs.T
        kept: list[tuple[str, int, float]] = []
        unsupported: list[str] = []
        for gi, sent in enumerate(sentences):
            ei = int(np.argmax(sims[gi]))
            pi = evidence[ei][0]
            tokens = set(tokenize(sent))
            lexical = lexical_overlap(tokens, passages[pi].text) if tokens else 0.0
            support = 0.7 * float(sims[gi, ei]) + 0.3 * lexical
            if support >= self.policy.support_threshold:
                kept.append((_finish(sent), pi, support))
            else:
                unsupported.append(sent)
        if not kept:
            return None
        used = sorted({pi for _, pi, _ in kept})
        citations = tuple(passages[pi].citation for pi in used)
        answer_sentences = tuple(AnswerSentence(t, used.index(pi), round(s, 4)) for t, pi, s in kept)
        return Answer(
            _join(s.text for s in answer_sentences), citations, confidence, covered=True, language=lang,
            sentences=answer_sentences, mode="generative", unsupported=tuple(unsupported),
        )  # fmt: skip
