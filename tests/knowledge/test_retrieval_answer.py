"""Hybrid retrieval and grounded answers over a MedQuAD subset in a real embedded Chroma folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from knowledge.answer import DECLINE, Answerer
from knowledge.base import KnowledgeBase
from knowledge.types import MEDQUAD_ATTRIBUTION
from models.protocols import ChatMessage


@pytest.mark.parametrize(
    ("question", "title", "heading"),
    [
        ("What are the first lung problems people with AAT deficiency notice?", "Alpha-1 Antitrypsin Deficiency",
         "Symptoms"),
        ("How can I avoid catching roundworms from dirt?", "Parasites - Ascariasis", "Prevention"),
        ("How do people catch body lice?", "Parasites - Lice - Body Lice", None),
    ],
)  # fmt: skip
def test_hybrid_finds_paraphrased_question(
    medquad_kb: KnowledgeBase, question: str, title: str, heading: str | None
) -> None:
    top = medquad_kb.search(question, 5)
    assert top[0].citation.title == title
    if heading:
        assert top[0].citation.heading == heading
    assert top[0].citation.licence == "CC BY 4.0" and top[0].citation.attribution == MEDQUAD_ATTRIBUTION
    assert top[0].chunk_id.startswith(top[0].doc_id + "#")
    assert top[0].vector_similarity is not None and top[0].score >= top[-1].score


def test_modes_rank_differently_but_all_work(medquad_kb: KnowledgeBase) -> None:
    q = "What are the signs of leukemia in adults?"
    for mode in ("vector", "bm25", "hybrid"):
        hits = medquad_kb.search(q, 5, mode=mode)  # type: ignore[arg-type]
        assert hits and "Leukemia" in hits[0].citation.title, mode
    bm25 = medquad_kb.search(q, 5, mode="bm25")
    assert all(p.vector_rank is None for p in bm25) and all(p.bm25_rank for p in bm25)


def test_filters_restrict_results(medquad_kb: KnowledgeBase) -> None:
    cdc = medquad_kb.search("how is the infection prevented", 8, source="CDC")
    assert cdc and all(p.citation.source == "CDC" for p in cdc)
    onc = medquad_kb.search("symptoms", 8, specialty="oncology")
    assert onc and all(p.specialty == "oncology" for p in onc)
    assert medquad_kb.search("symptoms", 8, language="zh") == []
    both = medquad_kb.search("treatment", 10, source=["CDC", "NHLBI"])  # type: ignore[arg-type]
    assert {p.citation.source for p in both} <= {"CDC", "NHLBI"}


def test_answer_cites_only_retrieved_passages(medquad_kb: KnowledgeBase) -> None:
    q = "What are the signs of leukemia in adults?"
    answer = medquad_kb.answer(q)
    assert answer.covered and answer.mode == "extractive"
    assert answer.confidence >= medquad_kb.answerer.policy.min_confidence
    retrieved = {p.chunk_id for p in medquad_kb.search(q, 5, language="en")}
    assert answer.citations and {c.chunk_id for c in answer.citations} <= retrieved
    assert 2 <= len(answer.sentences) <= 4
    assert all(0 <= s.citation_index < len(answer.citations) for s in answer.sentences)
    assert all(s.text in answer.text for s in answer.sentences)
    passages = {p.chunk_id: p.text for p in medquad_kb.search(q, 5, language="en")}
    for s in answer.sentences:  # every sentence is quoted from the passage it cites
        assert s.text.rstrip(".")[:40] in passages[answer.citations[s.citation_index].chunk_id]
    assert "fever" in answer.text.lower()
    assert answer.attributions == (MEDQUAD_ATTRIBUTION,)
    assert "Sources:" in answer.with_sources() and "CC BY 4.0" in answer.with_sources()


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How do I reset my password?", "Which football team won?", "  "],
)
def test_off_topic_question_is_not_covered(medquad_kb: KnowledgeBase, question: str) -> None:
    answer = medquad_kb.answer(question)
    assert not answer.covered and answer.offer_human and answer.citations == ()
    assert answer.text == DECLINE["en"] and "don't know" in answer.text
    assert answer.confidence < medquad_kb.answerer.policy.min_confidence


def test_chinese_question_on_english_library_is_not_covered(medquad_kb: KnowledgeBase) -> None:
    zh = medquad_kb.answer("成人白血病有哪些症状？", lang="zh")
    assert not zh.covered and zh.text == DECLINE["zh"] and zh.language == "zh" and not zh.citations
    en = medquad_kb.answer("成人白血病有哪些症状？", lang="en")
    assert not en.covered and en.text == DECLINE["en"]


class ScriptedGenerator:
    """A stand-in for a capable LLM: streams fixed text, one supported and one invented sentence."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.messages: list[ChatMessage] = []

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]:
        self.messages = list(messages)
        for word in self.text.split(" "):
            yield word + " "


def _generative(kb: KnowledgeBase, text: str) -> tuple[Answerer, ScriptedGenerator]:
    gen = ScriptedGenerator(text)
    return Answerer(kb.retriever, kb.embedder, generator=gen, policy=kb.answerer.policy), gen


GENERATED = (
    "Adults with acute lymphoblastic leukemia often have fever, feel tired and bruise or bleed easily [1]. "
    "Eating three bananas a day cures leukemia within a week."
)


def test_generated_answer_drops_unsupported_sentences(medquad_kb: KnowledgeBase) -> None:
    answerer, gen = _generative(medquad_kb, GENERATED)
    answer = answerer.answer("What are the signs of leukemia in adults?")
    assert answer.covered and answer.mode == "generative"
    assert "bananas" not in answer.text and any("bananas" in u for u in answer.unsupported)
    assert "fever" in answer.text and "[1]" not in answer.text
    retrieved = {
        p.chunk_id for p in medquad_kb.search("What are the signs of leukemia in adults?", 5, language="en")
    }
    assert answer.citations and {c.chunk_id for c in answer.citations} <= retrieved
    assert "ONLY the numbered passages" in gen.messages[0].content and "[1]" in gen.messages[1].content


async def test_generated_answer_falls_back_to_extractive_when_nothing_is_supported(
    medquad_kb: KnowledgeBase,
) -> None:
    answerer, _ = _generative(
        medquad_kb, "The moon is made of green cheese. Football is played with eleven players."
    )
    answer = await answerer.aanswer("What are the signs of leukemia in adults?")
    assert answer.covered and answer.mode == "extractive" and "fever" in answer.text.lower()
    declined = await answerer.aanswer("What is the capital of France?")
    assert not declined.covered


def test_chinese_library_answers_in_chinese(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    (tmp_path / "ct-zh.md").write_text(
        "# CT检查须知\n\n## 检查前\n做增强CT检查前需要空腹四小时。检查前两小时内可以喝少量清水。\n\n"
        "## 检查后\n检查后请多喝水，帮助肾脏排出造影剂。\n",
        encoding="utf-8",
    )
    report = fresh_kb.ingest([tmp_path / "ct-zh.md"])
    assert report.ingested and fresh_kb.stats()["by_language"] == {"zh": 1}
    answer = fresh_kb.answer("做CT前需要空腹吗？", lang="zh")
    assert answer.covered and answer.citations[0].title == "CT检查须知"
    assert answer.text.startswith("做增强CT检查前需要空腹四小时。") and " " not in answer.text
    assert not fresh_kb.answer("今天天气怎么样？", lang="zh").covered
    assert not fresh_kb.answer("Do I need to fast before a CT scan?").covered  # no English documents
