"""Deterministic guards: no diagnosis claims go out, and no patient text changes the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

GUARDS_FILE = Path(__file__).with_name("guards.yaml")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@dataclass(frozen=True)
class Guards:
    diagnosis_claims: tuple[re.Pattern[str], ...]
    prompt_injection: tuple[re.Pattern[str], ...]

    def is_injection(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.prompt_injection)

    def claims_diagnosis(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.diagnosis_claims)

    def drop_diagnosis_claims(self, text: str) -> str:
        """Removes every sentence that claims a diagnosis; the rest of the reply stands."""
        sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
        return " ".join(s.strip() for s in sentences if not self.claims_diagnosis(s))


@lru_cache(maxsize=1)
def get_guards() -> Guards:
    data = yaml.safe_load(GUARDS_FILE.read_text(encoding="utf-8"))

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(pattern, re.IGNORECASE) for pattern in data[key])

    return Guards(compile_all("diagnosis_claims"), compile_all("prompt_injection"))
