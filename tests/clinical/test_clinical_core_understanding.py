"""Embedding fallback (real packaged MiniLM) and LLM extractor validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from assistant.clinical.embedding_fallback import EmbeddingFallback
from assistant.clinical.lexicon import get_lexicon
from assistant.clinical.llm_extractor import validate_extracted
from assistant.clinical.triage import TriageSession
from assistant.clinical.understanding import understand
from models.protocols import Embedder


@pytest.fixture(scope="module")
def fallback(embedder: Embedder) -> EmbeddingFallback:
    return EmbeddingFallback(embedder, get_lexicon())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "concept"), [("my tummy is killing me", "abdominal_pain"), ("my pee burns", "dysuria")]
)
def test_fallback_finds_unlisted_phrasing(fallback: EmbeddingFallback, text: str, concept: str) -> None:
    assert get_lexicon().extract(text).findings == [] or concept not in {
        f.concept for f in get_lexicon().extract(text).findings
    }
    found = fallback.find(text)
    assert [f.concept for f in found] == [concept]
    assert (
        found[0].method == "embedding" and found[0].evidence in text and found[0].score >= fallback.threshold
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "I'd like to book an appointment",
        "the weather is nice today",
        "I have been feeling blue lately",
        "I need a repeat prescription",
        "can you tell me my test results",
        "I am worried about my mother",
    ],
)
def test_fallback_does_not_invent_findings(fallback: EmbeddingFallback, text: str) -> None:
    assert fallback.find(text) == []


@pytest.mark.slow
def test_fallback_in_a_triage_session(fallback: EmbeddingFallback) -> None:
    s = TriageSession()
    s.observe("my tummy is killing me", fallback=fallback)
    assert s.decision().complaint == "abdominal_pain"
    ext = understand("no fever. my pee burns", fallback=fallback)
    assert {f.concept: f.present for f in ext.findings} == {"fever": False, "dysuria": True}


class FakeLLM:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def extract(self, text: str, lang: str, concepts: Mapping[str, str]) -> Sequence[Mapping[str, Any]]:
        assert "chest_pain" in concepts
        return self.items


def test_llm_output_is_validated() -> None:
    text = "my chest feels heavy when I climb stairs"
    items = [
        {"concept": "chest_pain", "present": True, "evidence": "chest feels heavy"},
        {"concept": "heart_attack", "present": True, "evidence": "chest feels heavy"},
        {"concept": "shortness_of_breath", "present": True, "evidence": "I am breathless"},
        {"concept": "fever", "present": True},
        {"concept": "dizziness", "present": "yes", "evidence": "climb stairs"},
        {"concept": "headache", "present": True, "evidence": "stairs", "severity": 14},
    ]
    checked = validate_extracted(items, text, get_lexicon())
    assert [f.concept for f in checked.accepted] == ["chest_pain"]
    assert (
        checked.accepted[0].method == "llm"
        and text[checked.accepted[0].start : checked.accepted[0].end] == "chest feels heavy"
    )
    assert len(checked.rejected) == 5
    s = TriageSession()
    s.observe(text, extractor=FakeLLM(items))
    assert s.decision().complaint == "chest_pain"
    assert {f["concept"] for f in s.findings} == {"chest_pain"}
