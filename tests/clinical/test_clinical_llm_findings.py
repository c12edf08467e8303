"""The optional LLM finding extractor: whatever the model says is validated before it counts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from assistant.clinical.llm_findings import LLMFindingExtractor, parse_findings
from assistant.clinical.understanding import understand
from models.protocols import ChatMessage
from models.registry import ModelRegistry

TEXT = "there is a strange squeezing feeling behind my ribs"


class ScriptedGenerator:
    """A stand-in LLM with a fixed reply, to drive the validation deterministically."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[Sequence[ChatMessage]] = []

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]:
        self.prompts.append(messages)
        for i in range(0, len(self.reply), 7):
            yield self.reply[i : i + 7]


def test_valid_llm_findings_are_added_and_invented_ones_dropped() -> None:
    reply = "Sure! " + json.dumps(
        [
            {"concept": "chest_pain", "present": True, "evidence": "squeezing feeling behind my ribs"},
            {"concept": "sweating", "present": True, "evidence": "drenched in sweat"},  # never said
            {"concept": "made_up_concept", "present": True, "evidence": "ribs"},  # not in the lexicon
        ]
    )
    generator = ScriptedGenerator(reply)
    assert understand(TEXT, "en").findings == []  # the lexicon alone misses this phrasing
    found = understand(TEXT, "en", extractor=LLMFindingExtractor(generator))
    assert [(f.concept, f.present) for f in found.findings] == [("chest_pain", True)]
    assert "chest_pain" in generator.prompts[0][1].content  # the model is shown the allowed concepts


def test_unparseable_replies_add_nothing() -> None:
    assert parse_findings("I think the patient has chest pain.") == []
    assert parse_findings("[not json]") == []
    assert parse_findings('[{"concept": "cough"}, 3, "x"]') == [{"concept": "cough"}]


def test_the_real_local_llm_cannot_add_an_unsaid_finding(registry: ModelRegistry) -> None:
    extractor = LLMFindingExtractor(registry.llm(), max_new_tokens=96)
    found = understand(TEXT, "en", extractor=extractor)
    for finding in found.findings:
        assert finding.evidence and finding.evidence.lower() in TEXT
