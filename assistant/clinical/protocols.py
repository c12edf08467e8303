"""The loaded protocol library: complaint protocols, the emergency screen and shared wording.

Loaded once, validated against the JSON schemas, and cross-checked (every concept a rule names
must exist in the lexicon; every department must have wording) so data mistakes fail at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.clinical.conditions import leaves
from assistant.clinical.data import PROTOCOL_DIR, ProtocolDataError, load_yaml, localized
from assistant.clinical.lexicon import Lexicon, get_lexicon

LEVELS = ("emergency_ambulance", "emergency", "consultation_24", "consultation", "self_care")
"""Most urgent first; a level's index is its urgency rank (lower = more urgent)."""


def rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    department: str | None
    when: Any
    if_unknown: str
    explain: dict[str, str]
    red_flag: bool


@dataclass(frozen=True)
class ComplaintProtocol:
    id: str
    version: str
    title: dict[str, str]
    select: Any
    priority: int
    default_department: str
    questions: dict[str, dict[str, str]]
    volunteered: frozenset[str]
    rules: tuple[Rule, ...]
    path: Path

    def ordered_rules(self) -> list[Rule]:
        """Rules from the most urgent level down; file order breaks ties."""
        return sorted(self.rules, key=lambda r: rank(r.level))


@dataclass(frozen=True)
class EmergencyScreen:
    version: str
    instruction: dict[str, str]
    rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ProtocolLibrary:
    lexicon: Lexicon
    complaints: dict[str, ComplaintProtocol]
    emergency: EmergencyScreen
    messages: dict[str, Any]

    def level_text(self, level: str, lang: str) -> str:
        return localized(self.messages["levels"][level], lang)

    def department_text(self, department: str, lang: str) -> str:
        return localized(self.messages["departments"][department], lang)

    def disclaimer(self, lang: str) -> str:
        return localized(self.messages["disclaimer"], lang)

    def emergency_instruction(self, lang: str) -> str:
        return localized(self.emergency.instruction, lang)


def load_complaint(path: Path, lexicon: Lexicon, departments: set[str]) -> ComplaintProtocol:
    data = load_yaml(path, "complaint")
    rules = tuple(
        Rule(
            id=r["id"],
            level=r["level"],
            department=r.get("department"),
            when=r["when"],
            if_unknown=r.get("if_unknown", "fire" if rank(r["level"]) <= rank("consultation_24") else "hold"),
            explain=r["explain"],
            red_flag=r.get("red_flag", rank(r["level"]) <= rank("emergency")),
        )
        for r in data["rules"]
    )
    proto = ComplaintProtocol(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        select=data["select"],
        priority=data["priority"],
        default_department=data["default_department"],
        questions=data.get("questions", {}),
        volunteered=frozenset(data.get("volunteered", [])),
        rules=rules,
        path=path,
    )
    _check_names(proto, lexicon, departments)
    return proto


def _check_names(proto: ComplaintProtocol, lexicon: Lexicon, departments: set[str]) -> None:
    conds = [proto.select] + [r.when for r in proto.rules]
    for cond in conds:
        for kind, name in leaves(cond):
            if kind != "attr" and name not in lexicon.concepts:
                raise ProtocolDataError(proto.path, f"unknown concept {name!r}")
    for dep in [proto.default_department] + [r.department for r in proto.rules if r.department]:
        if dep not in departments:
            raise ProtocolDataError(proto.path, f"department {dep!r} has no wording in messages.yaml")
    # Safety: a red flag that a less urgent rule needs to see denied must be askable, otherwise
    # "never mentioned" would silently count as "absent".
    for rule in proto.rules:
        for kind, name in leaves(rule.when):
            askable = name not in proto.volunteered and (
                kind == "attr" or name in proto.questions or lexicon.concepts[name].ask is not None
            )
            if kind == "absent" and not askable:
                raise ProtocolDataError(proto.path, f"rule {rule.id}: absent {name!r} has no question to ask")
    ids = [r.id for r in proto.rules]
    if len(ids) != len(set(ids)):
        raise ProtocolDataError(proto.path, "duplicate rule id")


def load_library(directory: Path | None = None) -> ProtocolLibrary:
    base = directory or PROTOCOL_DIR
    lexicon = Lexicon.load(base / "lexicon.yaml") if directory else get_lexicon()
    messages = load_yaml(base / "messages.yaml", "messages")
    departments = set(messages["departments"])
    em = load_yaml(base / "emergency.yaml", "emergency")
    for r in em["rules"]:
        for kind, name in leaves(r["when"]):
            if kind != "attr" and name not in lexicon.concepts:
                raise ProtocolDataError(base / "emergency.yaml", f"unknown concept {name!r}")
    complaints: dict[str, ComplaintProtocol] = {}
    for path in sorted((base / "complaints").glob("*.yaml")):
        proto = load_complaint(path, lexicon, departments)
        if proto.id in complaints:
            raise ProtocolDataError(path, f"duplicate complaint id {proto.id}")
        complaints[proto.id] = proto
    if "general" not in complaints:
        raise ProtocolDataError(base / "complaints", "a 'general' fallback protocol is required")
    return ProtocolLibrary(
        lexicon=lexicon,
        complaints=complaints,
        emergency=EmergencyScreen(em["version"], em["instruction"], tuple(em["rules"])),
        messages=messages,
    )


@lru_cache(maxsize=1)
def get_library() -> ProtocolLibrary:
    """The packaged protocol library, loaded and validated once per process."""
    return load_library()
