"""Routes a patient's turn to a flow from the phrases in `intents.yaml`; no model decides this."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

INTENTS_FILE = Path(__file__).with_name("intents.yaml")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def detect_language(text: str, default: str = "en") -> str:
    """zh when at least a third of the letters are Chinese characters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return default
    cjk = sum(1 for c in letters if _CJK.match(c))
    return "zh" if cjk * 3 >= len(letters) else "en"


class IntentRouter:
    def __init__(self, phrases: dict[str, dict[str, list[str]]]) -> None:
        self._english: dict[str, list[re.Pattern[str]]] = {}
        self._chinese: dict[str, list[str]] = {}
        for intent, by_lang in phrases.items():
            self._english[intent] = [
                re.compile(r"\?" if p == "?" else rf"(?<!\w){re.escape(p)}(?!\w)", re.IGNORECASE)
                for p in by_lang.get("en", [])
            ]
            self._chinese[intent] = list(by_lang.get("zh", []))

    def matches(self, intent: str, text: str) -> bool:
        if any(pattern.search(text) for pattern in self._english.get(intent, [])):
            return True
        return any(phrase in text for phrase in self._chinese.get(intent, []))


@lru_cache(maxsize=1)
def get_router() -> IntentRouter:
    data = yaml.safe_load(INTENTS_FILE.read_text(encoding="utf-8"))
    return IntentRouter(data["intents"])
