"""Every protocol file validates, is versioned, and each of its rules fires on its own condition."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from clinical_testkit import satisfy, session_with

from assistant.clinical.data import LANGS, PROTOCOL_DIR, ProtocolDataError
from assistant.clinical.protocols import LEVELS, ProtocolLibrary, load_library, rank

REQUIRED = {
    "chest_pain",
    "shortness_of_breath",
    "headache",
    "abdominal_pain",
    "fever",
    "back_neck_pain",
    "joint_pain",
    "trauma",
    "skin",
    "bleeding",
    "dizziness",
    "urinary",
    "mental_health",
    "pregnancy",
    "child_fever",
    "cancer_treatment",
    "general",
}


def test_all_required_complaints_present(library: ProtocolLibrary) -> None:
    assert set(library.complaints) >= REQUIRED
    for proto in library.complaints.values():
        assert proto.version.count(".") == 2
        assert set(proto.title) == set(LANGS)
        for rule in proto.rules:
            assert rule.explain["en"] and rule.explain["zh"]


def test_every_concept_question_and_label_is_bilingual(library: ProtocolLibrary) -> None:
    for concept in library.lexicon.concepts.values():
        assert concept.label["en"] and concept.label["zh"]
        assert concept.synonyms["en"] and concept.synonyms["zh"]
        if concept.ask:
            assert concept.ask["en"] and concept.ask["zh"]
    for level in LEVELS:
        assert library.level_text(level, "en") != library.level_text(level, "zh")
    assert "not a diagnosis" in library.disclaimer("en")
    assert "不是诊断" in library.disclaimer("zh")


CASES = [(p.stem, p) for p in sorted((PROTOCOL_DIR / "complaints").glob("*.yaml"))]


@pytest.mark.parametrize(("name", "path"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_at_least_at_its_level(name: str, path: Path, library: ProtocolLibrary) -> None:
    proto = library.complaints[yaml.safe_load(path.read_text())["id"]]
    for rule in proto.rules:
        concepts, attrs = satisfy(rule.when)
        sel_concepts, sel_attrs = satisfy(proto.select)
        session = session_with({**sel_concepts, **concepts}, {**sel_attrs, **attrs})
        decision = session.decision()
        assert rank(decision.level) <= rank(rule.level), (proto.id, rule.id, decision.level)
        if rank(rule.level) <= rank("emergency"):
            fired = [(r.protocol, r.rule_id) for r in decision.reasons]
            assert decision.level in ("emergency_ambulance", "emergency")
            assert fired, rule.id


def test_red_flag_rules_record_the_answers_that_fired(library: ProtocolLibrary) -> None:
    from assistant.clinical.triage import TriageSession

    s = TriageSession()
    s.observe("I've had chest pain for two days")
    q = s.next_question()
    assert q is not None and q.id == "c:pain_radiation_arm_jaw"
    s.answer(q.id, "yes, it goes into my left arm")
    d = s.decision()
    assert d.level == "emergency_ambulance" and d.settled
    firing = d.reasons[0]
    assert firing.rule_id == "cp_acs_features" and firing.protocol_version == "1.0.0"
    texts = {e.get("concept"): e.get("text") for e in firing.evidence}
    assert texts["pain_radiation_arm_jaw"] == "yes, it goes into my left arm"
    assert texts["chest_pain"] == "chest pain"


def _copy_protocols(tmp_path: Path) -> Path:
    dst = tmp_path / "protocols"
    shutil.copytree(PROTOCOL_DIR, dst)
    return dst


def test_schema_rejects_a_bad_level(tmp_path: Path) -> None:
    base = _copy_protocols(tmp_path)
    path = base / "complaints" / "headache.yaml"
    path.write_text(path.read_text().replace("level: self_care", "level: whenever"))
    with pytest.raises(ProtocolDataError, match=r"headache\.yaml"):
        load_library(base)


def test_unknown_concept_in_rule_is_rejected(tmp_path: Path) -> None:
    base = _copy_protocols(tmp_path)
    path = base / "complaints" / "fever.yaml"
    path.write_text(path.read_text().replace("neck_stiffness", "neck_stifness"))
    with pytest.raises(ProtocolDataError, match="unknown concept"):
        load_library(base)


def test_missing_version_is_rejected(tmp_path: Path) -> None:
    base = _copy_protocols(tmp_path)
    path = base / "complaints" / "skin.yaml"
    path.write_text(path.read_text().replace('version: "1.0.0"\n', ""))
    with pytest.raises(ProtocolDataError, match="version"):
        load_library(base)


def test_unaskable_absent_leaf_is_rejected(tmp_path: Path) -> None:
    base = _copy_protocols(tmp_path)
    path = base / "complaints" / "general.yaml"
    data = yaml.safe_load(path.read_text())
    data["rules"].append(
        {"id": "gn_bad", "level": "self_care", "when": {"absent": "child"}, "explain": {"en": "x", "zh": "x"}}
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ProtocolDataError, match="no question"):
        load_library(base)
