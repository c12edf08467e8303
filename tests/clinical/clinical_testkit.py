"""Test helpers: build a satisfying assignment for a rule condition, and run scripted dialogues."""

from __future__ import annotations

from typing import Any

from assistant.clinical.findings import Attribute, Finding
from assistant.clinical.triage import TriageDecision, TriageSession

ATTR_VALUES = {"gte": 0.0, "gt": 1.0, "lte": 0.0, "lt": -1.0}


def satisfy(cond: Any) -> tuple[dict[str, bool], dict[str, float]]:
    """Concept states and attribute values that make ``cond`` true (first branch of each any)."""
    concepts: dict[str, bool] = {}
    attrs: dict[str, float] = {}
    if isinstance(cond, str):
        concepts[cond] = True
    elif "present" in cond:
        concepts[cond["present"]] = True
    elif "absent" in cond:
        concepts[cond["absent"]] = False
    elif "attr" in cond:
        op = next(k for k in ("gte", "gt", "lte", "lt") if k in cond)
        attrs[cond["attr"]] = float(cond[op]) + ATTR_VALUES[op]
    elif "not" in cond:
        inner = cond["not"]
        name = inner if isinstance(inner, str) else inner.get("present")
        if name:
            concepts[name] = False
    elif "all" in cond:
        for c in cond["all"]:
            cs, at = satisfy(c)
            concepts.update(cs)
            attrs.update(at)
    elif "any" in cond:
        cs, at = satisfy(cond["any"][0])
        concepts.update(cs)
        attrs.update(at)
    return concepts, attrs


def session_with(concepts: dict[str, bool], attrs: dict[str, float], lang: str = "en") -> TriageSession:
    s = TriageSession(lang=lang)
    for name, value in concepts.items():
        s.findings.append(Finding(name, value, "test", 0, 4, "test", method="answer").to_dict())
    for name, value in attrs.items():
        s.attributes[name] = Attribute(name, value, "test", 0, 4, "test").to_dict()
    return s


def run_dialogue(
    text: str, lang: str = "en", answers: dict[str, str] | None = None, default: str = "no", limit: int = 40
) -> tuple[TriageSession, TriageDecision, list[str]]:
    """Observe ``text``, answer questions (by target) from ``answers`` or ``default``, until settled."""
    s = TriageSession(lang=lang)
    s.observe(text, lang)
    asked: list[str] = []
    answers = answers or {}
    for _ in range(limit):
        q = s.next_question()
        if q is None:
            break
        asked.append(q.target)
        s.answer(q.id, answers.get(q.target, default))
    return s, s.decision(), asked
