"""The Finding schema: one clinical concept the patient affirmed or denied, tied to their words.

Every finding keeps the exact span of patient text that supports it, so summaries and triage
reasons can always be traced back to what was actually said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Method = Literal["lexicon", "embedding", "llm", "answer"]


@dataclass
class Finding:
    """A concept with its polarity. ``present`` is True (affirmed), False (denied) or None (unsure)."""

    concept: str
    present: bool | None
    evidence: str
    start: int
    end: int
    source: str
    method: Method = "lexicon"
    severity: int | None = None
    duration_hours: float | None = None
    onset: str | None = None
    site: str | None = None
    laterality: str | None = None
    score: float = 1.0
    implied_by: str | None = None
    question_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)

    @property
    def polarity(self) -> str:
        return "present" if self.present else ("absent" if self.present is False else "uncertain")


@dataclass
class Attribute:
    """A measured value the patient stated (severity, duration, age, temperature) with its span."""

    name: str
    value: float
    evidence: str
    start: int
    end: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attribute:
        return cls(**data)


@dataclass
class Extraction:
    """What one utterance yielded: findings plus utterance-level attributes."""

    text: str
    findings: list[Finding] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    onset: str | None = None

    def present(self) -> set[str]:
        return {f.concept for f in self.findings if f.present}

    def absent(self) -> set[str]:
        return {f.concept for f in self.findings if f.present is False}
