"""Pre-consultation history taking: SOCRATES/OPQRST slots plus history, medicines and allergies.

The session wraps a TriageSession so red-flag questions always come first; then it asks only
the slots the patient has not already covered. Its outputs are a FHIR-shaped
QuestionnaireResponse and a nurse-readable summary built from the patient's own words with
fixed templates (no LLM), so the summary can only contain what the patient actually said.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from assistant.clinical.data import PROTOCOL_DIR, ProtocolDataError, load_yaml, localized
from assistant.clinical.embedding_fallback import EmbeddingFallback
from assistant.clinical.llm_extractor import FindingExtractor
from assistant.clinical.protocols import ProtocolLibrary, get_library
from assistant.clinical.textutil import clause_bounds, normalize
from assistant.clinical.triage import Question, TriageSession

QUESTIONNAIRE_URL = "urn:careline:questionnaire:preconsult"


@lru_cache(maxsize=1)
def preconsult_config() -> dict[str, Any]:
    """The slot definitions and summary templates (validated once)."""
    data = load_yaml(PROTOCOL_DIR / "preconsult.yaml", "preconsult")
    for slot in data["slots"]:
        slot["_re"] = [re.compile(p) for p in slot["detect"]["en"] + slot["detect"]["zh"]]
    concepts = get_library().lexicon.concepts
    for group in data["review_of_systems"]["groups"]:
        for c in group["concepts"]:
            if c not in concepts:
                raise ProtocolDataError(
                    PROTOCOL_DIR / "preconsult.yaml", f"unknown concept {c!r} in {group['id']}"
                )
    return data


@dataclass
class NurseSummary:
    """What the nurse reviews. Every finding listed carries the patient's own words (``evidence``)."""

    lang: str
    chief_complaint: str
    history_of_present_illness: str
    pertinent_positives: list[dict[str, Any]]
    pertinent_negatives: list[dict[str, Any]]
    red_flags_asked: list[dict[str, Any]]
    past_history: str | None
    medications: str | None
    allergies: str | None
    triage_level: str
    department: str
    triage_reasons: list[dict[str, Any]]
    settled: bool
    disclaimer: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


@dataclass
class PreconsultSession:
    """Serialisable pre-consultation state (nests a TriageSession as a dict)."""

    lang: str = "en"
    triage: dict[str, Any] = field(default_factory=lambda: TriageSession().to_dict())
    chief_complaint: str = ""
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    turns: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    # -- serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreconsultSession:
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> PreconsultSession:
        return cls.from_dict(json.loads(text))

    def _triage(self) -> TriageSession:
        return TriageSession.from_dict(self.triage)

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
        """Free text from the patient (the opening complaint or anything volunteered later)."""
        if lang:
            self.lang = lang
        if not self.chief_complaint:
            self.chief_complaint = text.strip()
        tri = self._triage()
        tri.observe(text, self.lang, fallback=fallback, extractor=extractor, library=library)
        self.triage = tri.to_dict()
        self.turns.append({"question_id": None, "question": None, "answer": text})
        self._detect_slots(text, library or get_library())

    def answer(self, question_id: str, text: str, *, library: ProtocolLibrary | None = None) -> None:
        lib = library or get_library()
        tri = self._triage()
        question_text = self._question_text(question_id, lib)
        if question_id.startswith("s:ros_"):
            self._answer_review(question_id, text, tri, lib)
        elif question_id.startswith("s:"):
            slot = question_id[2:]
            self.slots[slot] = {"value": text.strip(), "source": "asked"}
            tri.observe(text, self.lang, library=lib)
            self._detect_slots(text, lib, skip=slot)
        else:
            tri.answer(question_id, text, library=lib)
        self.triage = tri.to_dict()
        self.turns.append({"question_id": question_id, "question": question_text, "answer": text})

    def _answer_review(self, question_id: str, text: str, tri: TriageSession, lib: ProtocolLibrary) -> None:
        """Checklist reply: named items count as said; a bare "no" denies every item still open."""
        group = _ros_group(question_id[2:])
        before = len(tri.findings)
        tri.observe(text, self.lang, library=lib)
        mentioned = {f["concept"] for f in tri.findings[before:]}
        if not mentioned and lib.lexicon.yes_no(text) is False:
            for concept in group["concepts"]:
                if tri.value(concept) is None:
                    tri.record_answer_finding(concept, False, text, question_id, library=lib)
        self.slots[question_id[2:]] = {"value": text.strip(), "source": "asked"}

    def _question_text(self, question_id: str, lib: ProtocolLibrary) -> dict[str, str] | None:
        kind, _, target = question_id.partition(":")
        if kind == "s" and target.startswith("ros_"):
            return self._ros_texts(_ros_group(target), lib)
        if kind == "s":
            slot = next(s for s in preconsult_config()["slots"] if s["id"] == target)
            return dict(slot["question"])
        if kind == "c":
            c = lib.lexicon.concepts[target]
            return dict(c.ask or c.label)
        return dict(lib.messages["attribute_questions"][target])

    def _detect_slots(self, text: str, lib: ProtocolLibrary, skip: str | None = None) -> None:
        """Mark slots the patient covered without being asked, keeping the sentence they used."""
        norm = normalize(text)
        tri = self._triage()
        for slot in preconsult_config()["slots"]:
            sid = slot["id"]
            if sid == skip or sid in self.slots:
                continue
            value: str | None = None
            for pattern in slot["_re"]:
                m = pattern.search(norm)
                if m:
                    s, e = clause_bounds(text, m.start())
                    value = text[s:e].strip()
                    break
            if sid == "severity" and "severity" in tri.attributes:
                value = tri.attributes["severity"]["evidence"]
            if sid == "onset" and value is None and "duration_hours" in tri.attributes:
                value = tri.attributes["duration_hours"]["evidence"]
            if sid == "associated":
                present = [
                    c for c in tri.present_concepts() if lib.lexicon.concepts[c].kind in ("symptom", "sign")
                ]
                if len(present) >= 3:
                    value = ", ".join(present)
            if value:
                self.slots[sid] = {"value": value, "source": "volunteered"}

    # -- questions ------------------------------------------------------------------------------

    def _involves_pain(self, tri: TriageSession) -> bool:
        pain = set(preconsult_config()["pain_concepts"])
        return any(c in pain for c in tri.present_concepts())

    def next_question(
        self, lang: str | None = None, *, library: ProtocolLibrary | None = None
    ) -> Question | None:
        """Red-flag (triage) questions first, then the slots not yet covered; None when done."""
        lib = library or get_library()
        if lang:
            self.lang = lang
        tri = self._triage()
        tri.lang = self.lang
        q = tri.next_question(library=lib)
        if q is not None:
            return q
        asked = {t["question_id"] for t in self.turns}
        pain = self._involves_pain(tri)
        for slot in preconsult_config()["slots"]:
            sid = slot["id"]
            if sid in self.slots or f"s:{sid}" in asked:
                continue
            if slot.get("pain_only") and not pain:
                continue
            if sid == "severity" and "severity" in tri.attributes:
                continue
            if (
                sid == "onset"
                and "duration_hours" in tri.attributes
                and tri.findings
                and any(f.get("onset") for f in tri.findings)
            ):
                continue
            if f"a:{'severity' if sid == 'severity' else ''}" in asked:
                continue
            texts = dict(slot["question"])
            return Question(f"s:{sid}", "free_text", sid, localized(texts, self.lang), texts, "preconsult")
        for group in preconsult_config()["review_of_systems"]["groups"]:
            qid = f"s:{group['id']}"
            if qid in asked or all(tri.value(c) is not None for c in group["concepts"]):
                continue
            texts = self._ros_texts(group, lib, tri)
            return Question(qid, "checklist", group["id"], localized(texts, self.lang), texts, "preconsult")
        return None

    def _ros_texts(
        self, group: dict[str, Any], lib: ProtocolLibrary, tri: TriageSession | None = None
    ) -> dict[str, str]:
        template = preconsult_config()["review_of_systems"]["question"]
        open_items = [c for c in group["concepts"] if tri is None or tri.value(c) is None]
        out = {}
        for lang in ("en", "zh"):
            sep = "、" if lang == "zh" else ", "
            labels = sep.join(lib.lexicon.concepts[c].label[lang] for c in open_items)
            out[lang] = template[lang].format(items=labels)
        return out

    # -- outputs --------------------------------------------------------------------------------

    def questionnaire_response(self, *, library: ProtocolLibrary | None = None) -> dict[str, Any]:
        """A FHIR R4 QuestionnaireResponse-shaped dict of every question and answer."""
        lib = library or get_library()
        cfg = preconsult_config()
        items: list[dict[str, Any]] = [
            {
                "linkId": "chief_complaint",
                "text": localized(cfg["labels"]["chief_complaint"], self.lang),
                "answer": [{"valueString": self.chief_complaint}],
            }
        ]
        tri = self._triage()
        answered = {a["question_id"]: a for a in tri.asked}
        for turn in self.turns:
            qid = turn["question_id"]
            if qid is None:
                continue
            item: dict[str, Any] = {"linkId": qid, "text": localized(turn["question"], self.lang)}
            kind = qid.partition(":")[0]
            value = answered.get(qid, {}).get("value")
            if kind == "c" and value is not None:
                item["answer"] = [{"valueBoolean": bool(value)}, {"valueString": turn["answer"]}]
            elif kind == "a" and value is not None:
                item["answer"] = [{"valueDecimal": float(value)}, {"valueString": turn["answer"]}]
            else:
                item["answer"] = [{"valueString": turn["answer"]}]
            items.append(item)
        for sid, slot in self.slots.items():
            if slot["source"] == "volunteered":
                label = next(s["label"] for s in cfg["slots"] if s["id"] == sid)
                items.append(
                    {
                        "linkId": f"s:{sid}",
                        "text": localized(label, self.lang),
                        "answer": [{"valueString": slot["value"]}],
                    }
                )
        done = self.next_question(library=lib) is None
        return {
            "resourceType": "QuestionnaireResponse",
            "status": "completed" if done else "in-progress",
            "questionnaire": f"{QUESTIONNAIRE_URL}|{cfg['version']}",
            "authored": datetime.now(UTC).isoformat(),
            "item": items,
        }

    def summary(self, *, library: ProtocolLibrary | None = None) -> NurseSummary:
        lib = library or get_library()
        lang = self.lang
        tri = self._triage()
        lex = lib.lexicon
        positives: dict[str, dict[str, Any]] = {}
        negatives: dict[str, dict[str, Any]] = {}
        for f in tri.findings:
            concept = lex.concepts[f["concept"]]
            if f["present"] is None or f.get("implied_by"):
                continue
            entry = {
                "concept": concept.id,
                "label": localized(concept.label, lang),
                "evidence": f["evidence"],
                "method": f["method"],
                "question_id": f.get("question_id"),
            }
            target = positives if f["present"] else negatives
            if concept.id not in target:
                target[concept.id] = entry
        # Affirmation wins over a denial (contradictions are shown as positives).
        for cid in list(negatives):
            if cid in positives:
                del negatives[cid]
        decision = tri.decision(library=lib)
        hpi = self._hpi(tri, positives, negatives, lib)
        slot_text = {sid: s["value"] for sid, s in self.slots.items()}
        history_items = [
            p["label"] for p in positives.values() if lex.concepts[p["concept"]].kind == "history"
        ]
        past = slot_text.get("past_history") or ("; ".join(history_items) if history_items else None)
        return NurseSummary(
            lang=lang,
            chief_complaint=self.chief_complaint,
            history_of_present_illness=hpi,
            pertinent_positives=[
                p for p in positives.values() if lex.concepts[p["concept"]].kind != "history"
            ],
            pertinent_negatives=[
                n for n in negatives.values() if lex.concepts[n["concept"]].kind != "history"
            ],
            red_flags_asked=tri.red_flags_asked(lib),
            past_history=past,
            medications=slot_text.get("medications"),
            allergies=slot_text.get("allergies"),
            triage_level=decision.level,
            department=decision.department,
            triage_reasons=[r.to_dict() for r in decision.reasons],
            settled=decision.settled,
            disclaimer=lib.disclaimer(lang),
        )

    def _hpi(
        self,
        tri: TriageSession,
        positives: dict[str, dict[str, Any]],
        negatives: dict[str, dict[str, Any]],
        lib: ProtocolLibrary,
    ) -> str:
        cfg = preconsult_config()
        t = cfg["hpi"][self.lang if self.lang in cfg["hpi"] else "en"]
        sep = "、" if self.lang == "zh" else ", "
        lex = lib.lexicon
        symptoms = [
            p["label"]
            for p in positives.values()
            if lex.concepts[p["concept"]].kind in ("symptom", "sign", "event")
        ]
        main = symptoms[:2] or [self.chief_complaint]
        text = t["opening"].format(complaints=sep.join(main))
        if "duration_hours" in tri.attributes:
            text += t["duration"].format(
                duration=_format_duration(tri.attributes["duration_hours"]["value"], self.lang)
            )
        onsets = {f.get("onset") for f in tri.findings if f.get("onset")}
        if "sudden" in onsets:
            text += t["sudden"]
        elif "gradual" in onsets:
            text += t["gradual"]
        parts = [text + ("。" if self.lang == "zh" else ".")]
        for slot in cfg["slots"]:
            sid = slot["id"]
            if sid in ("severity", "associated", "past_history", "medications", "allergies", "onset"):
                continue
            if sid in self.slots:
                parts.append(
                    t["slot"].format(
                        label=localized(slot["label"], self.lang), value=self.slots[sid]["value"]
                    )
                )
        if "severity" in tri.attributes:
            parts.append(t["severity"].format(value=_num(tri.attributes["severity"]["value"])))
        if len(symptoms) > 2:
            parts.append(t["positives"].format(items=sep.join(symptoms[2:])))
        if negatives:
            parts.append(t["negatives"].format(items=sep.join(n["label"] for n in negatives.values())))
        return " ".join(parts) if self.lang != "zh" else "".join(parts)


def _ros_group(group_id: str) -> dict[str, Any]:
    return dict(next(g for g in preconsult_config()["review_of_systems"]["groups"] if g["id"] == group_id))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def _format_duration(hours: float, lang: str) -> str:
    cfg = preconsult_config()["labels"]
    for unit, size in (("year", 8760), ("month", 720), ("week", 168), ("day", 24), ("hour", 1)):
        if hours >= size or unit == "hour":
            value = hours / size
            label = localized(cfg[unit], lang)
            return f"{_num(round(value, 1))} {label}" if lang != "zh" else f"{_num(round(value, 1))}{label}"
    return ""
