"""A `FindingExtractor` backed by the configured LLM (used only when `CARELINE_LLM__CAPABLE=true`).

The model is asked for a JSON list in the lexicon's schema. Whatever it returns is untrusted:
`validate_extracted` keeps only known concepts whose quoted evidence occurs in the patient's text.
A reply that is not JSON simply adds nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from careline.sync import run_sync
from models.protocols import ChatMessage, TextGenerator

_JSON_LIST = re.compile(r"\[.*\]", re.DOTALL)
SYSTEM = (
    "You extract clinical findings from a patient's words. Reply with a JSON list only. Each item: "
    '{"concept": <one id from the list>, "present": true|false, "evidence": <the exact words the patient '
    'used>, "severity": <0-10 or null>, "duration_hours": <number or null>, "laterality": "left"|"right"|null}. '
    "Use only concept ids from the list; if nothing matches, reply []."
)


class LLMFindingExtractor:
    def __init__(self, generator: TextGenerator, max_new_tokens: int = 256) -> None:
        self.generator = generator
        self.max_new_tokens = max_new_tokens

    def extract(self, text: str, lang: str, concepts: Mapping[str, str]) -> Sequence[Mapping[str, Any]]:
        catalogue = "\n".join(f"{cid}: {label}" for cid, label in concepts.items())
        messages = [
            ChatMessage("system", SYSTEM),
            ChatMessage("user", f"Concepts:\n{catalogue}\n\nPatient ({lang}): {text}"),
        ]
        return parse_findings(run_sync(self._complete(messages)))

    async def _complete(self, messages: list[ChatMessage]) -> str:
        return "".join(
            [token async for token in self.generator.stream(messages, max_new_tokens=self.max_new_tokens)]
        )


def parse_findings(reply: str) -> list[Mapping[str, Any]]:
    """The first JSON list of objects in `reply`; [] for anything else."""
    match = _JSON_LIST.search(reply)
    if match is None:
        return []
    try:
        items = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
