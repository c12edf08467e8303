"""The triage engine: a serialisable session that evaluates protocol data, never an LLM.

Flow: every utterance goes through the global emergency screen, then the complaint protocol
that best fits the findings. Rules are checked from the most urgent level down; the engine asks
only for leaves it still needs (skipping what the patient already said) and stops when a rule
fires with every more urgent rule ruled out. Unknown answers count per rule data ("fire" for
urgent rules), contradictions resolve towards "present", and the decided level can only ever
rise during a session (the ``floor``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.clinical.conditions import compare, evaluate, leaves, undetermined_leaves
from assistant.clinical.data import localized
from assistant.clinical.embedding_fallback import EmbeddingFallback
from assistant.clinical.findings import Attribute, Finding
from assistant.clinical.llm_extractor import FindingExtractor
from assistant.clinical.protocols import LEVELS, ComplaintProtocol, ProtocolLibrary, Rule, get_library, rank
from assistant.clinical.understanding import understand

ATTR_KINDS = {
    "severity": "scale",
    "duration_hours": "duration",
    "age_years": "age",
    "temperature_c": "temperature",
}
SCREEN = "emergency_screen"


@dataclass
class Question:
    """One question to put to the patient. ``id`` is ``c:<concept>`` (yes/no) or ``a:<attribute>``."""

    id: str
    kind: str
    target: str
    text: str
    texts: dict[str, str]
    protocol: str
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RuleFiring:
    """Which rule fired, from which protocol version, and the answers/findings that made it fire."""

    rule_id: str
    protocol: str
    protocol_version: str
    level: str
    department: str
    explanation: dict[str, str]
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def text(self, lang: str) -> str:
        return localized(self.explanation, lang)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleFiring:
        return cls(**data)


@dataclass
class TriageDecision:
    level: str
    department: str
    reasons: list[RuleFiring]
    complaint: str
    settled: bool
    emergency: bool = False

    def explanation(self, lang: str, library: ProtocolLibrary | None = None) -> str:
        """Level advice, the reason and the not-a-diagnosis disclaimer, all from the data files."""
        lib = library or get_library()
        parts = []
        if self.emergency:
            parts.append(lib.emergency_instruction(lang))
        parts.append(lib.level_text(self.level, lang))
        if self.reasons:
            parts.append(self.reasons[0].text(lang))
        parts.append(lib.disclaimer(lang))
        return " ".join(parts)

    def department_text(self, lang: str, library: ProtocolLibrary | None = None) -> str:
        return (library or get_library()).department_text(self.department, lang)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TriageSession:
    """Pure data (JSON-serialisable) plus methods; protocol data is looked up, never stored."""

    lang: str = "en"
    utterances: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    asked: list[dict[str, Any]] = field(default_factory=list)
    complaint: str | None = None
    floor: dict[str, Any] | None = None
    contradictions: list[str] = field(default_factory=list)
    schema_version: int = 1

    # -- serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageSession:
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> TriageSession:
        return cls.from_dict(json.loads(text))

    # -- input ----------------------------------------------------------------------------------

    def observe(
        self,
        text: str,
        lang: str | None = None,
        *,
        fallback: EmbeddingFallback | None = None,
        extractor: FindingExtractor | None = None,
        library: ProtocolLibrary | None = None,
    ) -> None:
        """Take a free-text utterance from the patient."""
        lib = library or get_library()
        if lang:
            self.lang = lang
        self.utterances.append(text)
        ext = understand(text, self.lang, lexicon=lib.lexicon, fallback=fallback, extractor=extractor)
        for f in ext.findings:
            self._add_finding(f)
        for name, attr in ext.attributes.items():
            self._set_attribute(attr)
            if name in self.unknown:
                self.unknown.remove(name)
        self._update(lib)

    def answer(self, question_id: str, text: str, *, library: ProtocolLibrary | None = None) -> None:
        """Record the patient's reply to a question from ``next_question``."""
        lib = library or get_library()
        lex = lib.lexicon
        kind, _, target = question_id.partition(":")
        record: dict[str, Any] = {"question_id": question_id, "answer": text, "value": None}
        if kind == "c":
            value = lex.yes_no(text)
            record["value"] = value
            if value is None:
                if target not in self.unknown:
                    self.unknown.append(target)
            else:
                base = Finding(
                    concept=target,
                    present=value,
                    evidence=text.strip() or text,
                    start=0,
                    end=len(text),
                    source=text,
                    method="answer",
                    question_id=question_id,
                )
                self._add_finding(base)
                if value:
                    for imp in lex._implied(target):
                        self._add_finding(Finding(**{**base.to_dict(), "concept": imp, "implied_by": target}))
        elif kind == "a":
            value_num = parse_attribute(target, text, lib)
            record["value"] = value_num
            if value_num is None:
                if target not in self.unknown:
                    self.unknown.append(target)
            else:
                self._set_attribute(Attribute(target, value_num, text.strip() or text, 0, len(text), text))
        else:
            raise ValueError(f"unknown question id {question_id!r}")
        self.asked.append(record)
        # Anything else the patient volunteered in the reply counts too (except the asked concept).
        ext = lex.extract(text, self.lang)
        for f in ext.findings:
            if f.concept != target:
                self._add_finding(f)
        for attr in ext.attributes.values():
            if attr.name not in self.attributes:
                self._set_attribute(attr)
        self._update(lib)

    def record_answer_finding(
        self,
        concept: str,
        present: bool,
        text: str,
        question_id: str,
        *,
        library: ProtocolLibrary | None = None,
    ) -> None:
        """Record a concept the patient confirmed or denied in reply to a question asked elsewhere
        (e.g. a pre-consultation checklist); ``text`` is their reply, kept as evidence."""
        self._add_finding(
            Finding(
                concept,
                present,
                text.strip() or text,
                0,
                len(text),
                text,
                method="answer",
                question_id=question_id,
            )
        )
        self._update(library or get_library())

    def _add_finding(self, f: Finding) -> None:
        for other in self.findings:
            if (
                other["concept"] == f.concept
                and other["present"] is not None
                and f.present is not None
                and other["present"] != f.present
                and f.concept not in self.contradictions
            ):
                self.contradictions.append(f.concept)
        self.findings.append(f.to_dict())
        if f.present is not None and f.concept in self.unknown:
            self.unknown.remove(f.concept)

    def _set_attribute(self, attr: Attribute) -> None:
        old = self.attributes.get(attr.name)
        # Conservative on conflict: keep the higher severity/temperature, the longer duration.
        if old is None or attr.name == "age_years" or attr.value > old["value"]:
            self.attributes[attr.name] = attr.to_dict()

    # -- state ----------------------------------------------------------------------------------

    def value(self, concept: str) -> bool | None:
        """True if ever affirmed (affirmation wins over denial), False if only denied, else None."""
        values = [f["present"] for f in self.findings if f["concept"] == concept]
        if True in values:
            return True
        if False in values:
            return False
        return None

    def present_concepts(self) -> list[str]:
        seen: list[str] = []
        for f in self.findings:
            if f["present"] and f["concept"] not in seen:
                seen.append(f["concept"])
        return seen

    def _asked_targets(self) -> set[str]:
        return {a["question_id"].partition(":")[2] for a in self.asked}

    def _askable(self, kind: str, name: str, proto: ComplaintProtocol, lib: ProtocolLibrary) -> bool:
        if name in proto.volunteered:
            return False
        if kind == "attr":
            return True
        return name in proto.questions or lib.lexicon.concepts[name].ask is not None

    def _leaf_fn(
        self, rule_if_unknown: str, proto: ComplaintProtocol | None, lib: ProtocolLibrary, strict: bool
    ) -> Any:
        asked = self._asked_targets()

        def leaf(kind: str, name: str) -> bool | None:
            if kind.startswith("attr:"):
                _, op, thr = kind.split(":")
                attr = self.attributes.get(name)
                if attr is not None:
                    return compare(float(attr["value"]), op, float(thr))
                if name in self.unknown:
                    return rule_if_unknown == "fire"
                if strict or (
                    proto is not None and name not in asked and self._askable("attr", name, proto, lib)
                ):
                    return None
                return False
            v = self.value(name)
            if v is None:
                if name in self.unknown:
                    return rule_if_unknown == "fire" if kind == "present" else False
                if strict or (
                    proto is not None and name not in asked and self._askable("c", name, proto, lib)
                ):
                    return None
                v = False  # never mentioned and cannot be asked: not reported
            return v if kind == "present" else not v

        return leaf

    def _firing(
        self, rule: Rule, proto_id: str, version: str, department: str, lib: ProtocolLibrary
    ) -> RuleFiring:
        evidence: list[dict[str, Any]] = []
        for kind, name in leaves(rule.when):
            if kind == "attr":
                attr = self.attributes.get(name)
                if attr is not None:
                    evidence.append({"attribute": name, "value": attr["value"], "text": attr["evidence"]})
                elif name in self.unknown:
                    evidence.append({"attribute": name, "value": None, "assumed": rule.if_unknown == "fire"})
                continue
            v = self.value(name)
            if v is None and name in self.unknown:
                evidence.append({"concept": name, "present": None, "assumed": rule.if_unknown == "fire"})
                continue
            if v is None or (kind == "present") != v:
                continue
            support = [f for f in self.findings if f["concept"] == name and f["present"] == v]
            f0 = support[0]
            evidence.append(
                {"concept": name, "present": v, "text": f0["evidence"], "question_id": f0.get("question_id")}
            )
        return RuleFiring(rule.id, proto_id, version, rule.level, department, dict(rule.explain), evidence)

    # -- protocol selection ---------------------------------------------------------------------

    def candidates(self, library: ProtocolLibrary | None = None) -> list[ComplaintProtocol]:
        """Protocols whose selection condition holds, best first (priority, then first mention)."""
        lib = library or get_library()
        order = {f["concept"]: i for i, f in reversed(list(enumerate(self.findings))) if f["present"]}
        leaf = self._leaf_fn("hold", None, lib, strict=False)
        out = []
        for proto in lib.complaints.values():
            if proto.id == "general" or evaluate(proto.select, leaf) is True:
                first = min((order[n] for k, n in leaves(proto.select) if n in order), default=10**6)
                out.append((-proto.priority, first, proto.id, proto))
        out.sort(key=lambda t: (t[0], t[1], t[2]))
        return [t[3] for t in out]

    def _primary(self, lib: ProtocolLibrary) -> ComplaintProtocol:
        cands = self.candidates(lib)
        best = cands[0]
        if self.complaint and self.complaint in lib.complaints:
            pinned = lib.complaints[self.complaint]
            if pinned in cands and pinned.priority >= best.priority:
                return pinned
        return best

    # -- evaluation -----------------------------------------------------------------------------

    def _screen(self, lib: ProtocolLibrary) -> RuleFiring | None:
        leaf = self._leaf_fn("hold", None, lib, strict=False)
        for r in lib.emergency.rules:
            if evaluate(r["when"], leaf) is True:
                rule = Rule(
                    r["id"], "emergency_ambulance", "emergency", r["when"], "hold", r["explain"], True
                )
                return self._firing(rule, SCREEN, lib.emergency.version, "emergency", lib)
        return None

    def _evaluate(
        self, proto: ComplaintProtocol, lib: ProtocolLibrary
    ) -> tuple[RuleFiring | None, Question | None]:
        """The firing rule (provisional if a question is pending) and the next question to ask."""
        pending: Question | None = None
        for rule in proto.ordered_rules():
            dep = rule.department or proto.default_department
            v = evaluate(rule.when, self._leaf_fn(rule.if_unknown, proto, lib, strict=False))
            if v is True:
                return self._firing(rule, proto.id, proto.version, dep, lib), pending
            if v is None:
                if pending is None:
                    pending = self._question_for(rule, proto, lib)
                # Provisional: evaluate as if unasked leaves were not reported (proto=None closes them).
                closed = evaluate(rule.when, self._leaf_fn(rule.if_unknown, None, lib, strict=False))
                if closed is True:
                    return self._firing(rule, proto.id, proto.version, dep, lib), pending
        return None, pending

    def _question_for(self, rule: Rule, proto: ComplaintProtocol, lib: ProtocolLibrary) -> Question | None:
        asked = self._asked_targets()
        leaf = self._leaf_fn(rule.if_unknown, proto, lib, strict=False)
        for kind, name in undetermined_leaves(rule.when, leaf):
            if name in asked or name in self.unknown:
                continue
            probe = leaf("attr:gte:0" if kind == "attr" else "present", name)
            if probe is not None:
                continue
            if kind == "attr":
                texts = proto.questions.get(name) or lib.messages["attribute_questions"][name]
                return Question(
                    f"a:{name}", ATTR_KINDS[name], name, localized(texts, self.lang), texts, proto.id, rule.id
                )
            concept = lib.lexicon.concepts[name]
            texts = proto.questions.get(name) or concept.ask
            if texts is None:
                continue
            return Question(
                f"c:{name}", "yes_no", name, localized(texts, self.lang), dict(texts), proto.id, rule.id
            )
        return None

    def _compute(self, lib: ProtocolLibrary) -> tuple[TriageDecision, Question | None]:
        screen = self._screen(lib)
        proto = self._primary(lib)
        if screen is not None:
            firings = [screen]
            question = None
        else:
            fired, question = self._evaluate(proto, lib)
            firings = [fired] if fired is not None else []
            # Other fitting protocols may raise (never lower) the level with what is already known.
            primary_rank = rank(fired.level) if fired is not None else len(LEVELS)
            for other in self.candidates(lib):
                if other.id in (proto.id, "general"):
                    continue
                for rule in other.ordered_rules():
                    leaf = self._leaf_fn(rule.if_unknown, None, lib, strict=True)
                    if rank(rule.level) < primary_rank and evaluate(rule.when, leaf) is True:
                        dep = rule.department or other.default_department
                        firings.append(self._firing(rule, other.id, other.version, dep, lib))
                        break
        if self.floor is not None:
            firings.append(RuleFiring.from_dict(self.floor))
        if not firings:
            firings.append(
                RuleFiring(
                    "no_rule_fired",
                    proto.id,
                    proto.version,
                    "consultation",
                    proto.default_department,
                    {
                        "en": "No specific rule applied; a clinician should review.",
                        "zh": "没有匹配的具体规则，需由医护人员审核。",
                    },
                )
            )
        firings.sort(key=lambda f: rank(f.level))
        top = firings[0]
        settled = screen is not None or question is None
        decision = TriageDecision(
            level=top.level,
            department=top.department,
            reasons=_unique(firings),
            complaint=proto.id if screen is None else (self.complaint or proto.id),
            settled=settled or rank(top.level) == 0,
            emergency=top.level == "emergency_ambulance",
        )
        return decision, (None if decision.settled else question)

    def _update(self, lib: ProtocolLibrary) -> None:
        decision, question = self._compute(lib)
        top = decision.reasons[0]
        if self.floor is None or rank(top.level) < rank(self.floor["level"]):
            self.floor = top.to_dict()
        if question is not None and self.complaint is None:
            self.complaint = question.protocol
        elif self.complaint is None and decision.complaint != "general":
            self.complaint = decision.complaint

    # -- output ---------------------------------------------------------------------------------

    def next_question(
        self, lang: str | None = None, *, library: ProtocolLibrary | None = None
    ) -> Question | None:
        """The next question still needed to settle the level, or None when settled."""
        lib = library or get_library()
        if lang:
            self.lang = lang
        _, question = self._compute(lib)
        return question

    def decision(self, *, library: ProtocolLibrary | None = None) -> TriageDecision:
        return self._compute(library or get_library())[0]

    def red_flags_asked(self, library: ProtocolLibrary | None = None) -> list[dict[str, Any]]:
        """Every question asked, with the question text (en/zh) and the patient's answer."""
        lib = library or get_library()
        out = []
        for a in self.asked:
            kind, _, target = a["question_id"].partition(":")
            if kind == "c":
                texts = lib.lexicon.concepts[target].ask or lib.lexicon.concepts[target].label
            else:
                texts = lib.messages["attribute_questions"][target]
            out.append({**a, "question": dict(texts)})
        return out


def _unique(firings: list[RuleFiring]) -> list[RuleFiring]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in firings:
        key = (f.protocol, f.rule_id)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def parse_attribute(name: str, text: str, lib: ProtocolLibrary) -> float | None:
    """Parse a reply to an attribute question; None when the patient does not know."""
    lex = lib.lexicon
    if lex.yes_no(text) is None and _says_unknown(text, lex):
        return None
    if name == "duration_hours":
        hours = lex.duration_answer(text)
        if hours is not None:
            return hours
    attrs = lex.attributes(text)
    if name in attrs:
        return attrs[name].value
    import re

    m = re.search(r"\d+(?:\.\d+)?", text)
    number = float(m.group(0)) if m else None
    if number is None:
        from assistant.clinical.textutil import parse_zh_number

        m2 = re.search(r"[零一二两三四五六七八九十百]+", text)
        number = parse_zh_number(m2.group(0)) if m2 else None
    if number is None:
        return None
    if name == "severity":
        return number if 0 <= number <= 10 else None
    if name == "temperature_c":
        if 34 <= number <= 43:
            return number
        return round((number - 32) * 5 / 9, 1) if 93 <= number <= 110 else None
    if name == "age_years":
        return number if 0 <= number <= 120 else None
    if name == "duration_hours":
        return number * 24  # a bare number is read as days
    return None


def _says_unknown(text: str, lex: Any) -> bool:
    from assistant.clinical.textutil import normalize

    norm = normalize(text)
    return any(w in norm for lang in ("en", "zh") for w in lex.answer_words[lang]["unknown"])
