"""Triage engine behaviour: emergency screen, departments from the seeds, question economy,
conservative handling of unknown and contradictory answers, and serialisation."""

from __future__ import annotations

import json

import pytest
from clinical_testkit import run_dialogue

from assistant.clinical.protocols import LEVELS, ProtocolLibrary, rank
from assistant.clinical.triage import TriageSession


@pytest.mark.parametrize(
    ("text", "lang", "rule"),
    [
        ("I have crushing chest pain", "en", "em_crushing_chest_pain"),
        ("my dad can't breathe", "en", "em_cannot_breathe"),
        ("her face is drooping and her speech is slurred", "en", "em_stroke_signs"),
        ("he collapsed and is unconscious", "en", "em_unconscious"),
        ("I cut my leg and the bleeding won't stop", "en", "em_severe_bleeding"),
        ("I have a plan to kill myself tonight", "en", "em_suicidal_plan"),
        ("after eating peanuts my throat is closing", "en", "em_anaphylaxis"),
        ("我爸突然嘴歪，说话不清", "zh", "em_stroke_signs"),
        ("胸口像被石头压着", "zh", "em_crushing_chest_pain"),
        ("喘不上气", "zh", "em_cannot_breathe"),
        ("我打算自杀", "zh", "em_suicidal_plan"),
    ],
)
def test_emergency_screen_is_immediate(text: str, lang: str, rule: str, library: ProtocolLibrary) -> None:
    s = TriageSession(lang=lang)
    s.observe(text, lang)
    d = s.decision()
    assert d.level == "emergency_ambulance" and d.emergency and d.settled
    assert d.reasons[0].rule_id == rule and d.reasons[0].protocol == "emergency_screen"
    assert s.next_question() is None
    wording = d.explanation(lang)
    assert library.emergency_instruction(lang) in wording
    assert ("120" in wording) and (("ambulance" in wording) if lang == "en" else ("急救" in wording))


def test_negated_emergency_does_not_fire() -> None:
    s = TriageSession()
    s.observe("no chest pain, no trouble breathing, I just have a mild rash")
    assert s.decision().level != "emergency_ambulance"


@pytest.mark.parametrize(
    ("text", "lang", "answers", "level", "department"),
    [
        (
            "My neck hurts and the pain shoots down my arm into my fingers",
            "en",
            {"severity": "4"},
            "consultation",
            "spine_surgery",
        ),
        ("My neck is sore after playing tennis", "en", {"severity": "3"}, "consultation", "sports_medicine"),
        (
            "Both knees and the small joints of my hands are swollen and stiff every morning",
            "en",
            {},
            "consultation",
            "rheumatology",
        ),
        ("I hurt my knee when I fell off my bike", "en", {"severity": "5"}, "consultation", "orthopaedics"),
        ("I twisted my ankle and can't put weight on it", "en", {}, "emergency", "emergency"),
        (
            "I twisted my ankle, it's swollen but I can walk on it",
            "en",
            {"severity": "4"},
            "consultation",
            "orthopaedics",
        ),
        ("崴脚了，脚踝变形了", "zh", {}, "emergency", "emergency"),
        ("腰杆疼三天了，腿杆使不上力", "zh", {}, "emergency", "emergency"),
    ],
)
def test_seed_departments(text: str, lang: str, answers: dict[str, str], level: str, department: str) -> None:
    _, d, _ = run_dialogue(text, lang, answers)
    assert (d.level, d.department) == (level, department)
    assert d.settled


def test_questions_skip_what_the_patient_already_said() -> None:
    _, _, asked_plain = run_dialogue("I have chest pain")
    _, d, asked_rich = run_dialogue(
        "I have chest pain, no sweating, I'm not short of breath and I haven't fainted"
    )
    assert {"sweating", "shortness_of_breath", "syncope"} <= set(asked_plain)
    assert not {"sweating", "shortness_of_breath", "syncope"} & set(asked_rich)
    assert d.settled


def test_stops_when_settled() -> None:
    s = TriageSession()
    s.observe("I've had chest pain since this morning")
    q = s.next_question()
    assert q is not None
    s.answer(q.id, "yes")  # radiates: the most urgent rule fires, nothing else is needed
    assert s.next_question() is None
    assert s.decision().level == "emergency_ambulance"


def test_unknown_red_flag_answer_is_treated_as_present() -> None:
    s = TriageSession()
    s.observe("I have a headache")
    q = s.next_question()
    assert q is not None and q.target == "thunderclap_headache"
    s.answer(q.id, "I don't know")
    d = s.decision()
    assert d.level == "emergency_ambulance"
    assert d.reasons[0].evidence[0]["assumed"] is True


@pytest.mark.parametrize(
    "text", ["I have a headache", "my knee hurts", "I have a rash on my arm", "I feel dizzy", "tummy ache"]
)
def test_unknown_answers_never_lower_the_level(text: str) -> None:
    """For every position in the dialogue, answering "don't know" instead of "no" never lowers the level."""
    _, baseline, asked = run_dialogue(
        text, answers={"severity": "2", "duration_hours": "1 day", "age_years": "30"}
    )
    for i in range(len(asked)):
        answers = {"severity": "2", "duration_hours": "1 day", "age_years": "30"}
        answers[asked[i]] = "not sure"
        _, d, _ = run_dialogue(text, answers=answers)
        assert rank(d.level) <= rank(baseline.level), (asked[i], d.level, baseline.level)


def test_contradiction_keeps_the_higher_level() -> None:
    s = TriageSession()
    s.observe("I have chest pain and I'm sweating")
    assert s.decision().level == "emergency_ambulance"
    s.observe("actually no sweating")
    d = s.decision()
    assert d.level == "emergency_ambulance"
    assert "sweating" in s.contradictions


def test_level_never_decreases_over_a_session() -> None:
    s = TriageSession()
    seen = []
    for text in ["my stomach hurts", "it's really severe, 9/10", "actually it's only 2/10 now"]:
        s.observe(text)
        seen.append(rank(s.decision().level))
    assert seen == sorted(seen, reverse=True)  # rank only goes down, i.e. urgency only goes up
    assert s.decision().level in ("emergency", "emergency_ambulance")


def test_session_round_trips_through_json() -> None:
    s = TriageSession(lang="zh")
    s.observe("头疼两天了，没有发烧", "zh")
    q = s.next_question()
    assert q is not None and q.text == q.texts["zh"]
    s.answer(q.id, "没有")
    restored = TriageSession.from_json(s.to_json())
    assert restored == s
    json.loads(restored.to_json())
    q2 = restored.next_question()
    q3 = s.next_question()
    assert q2 is not None and q3 is not None and q2.id == q3.id
    assert restored.decision().to_dict() == s.decision().to_dict()


def test_questions_come_in_the_requested_language() -> None:
    s = TriageSession()
    s.observe("I have a headache")
    q_en = s.next_question("en")
    q_zh = s.next_question("zh")
    assert q_en is not None and q_zh is not None
    assert q_en.id == q_zh.id and q_en.text != q_zh.text and q_zh.text == q_en.texts["zh"]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("I have a fever and I'm on chemotherapy", "cancer_treatment"),
        ("my 2 year old son has a fever", "child_fever"),
        ("I'm 30 weeks pregnant and have a headache", "pregnancy"),
        ("I feel hopeless and want to die", "mental_health"),
        ("it burns when I pee", "urinary"),
        ("I'd like some advice, I feel tired all the time", "general"),
        ("there's a mole on my back that is getting bigger", "skin"),
    ],
)
def test_complaint_selection(text: str, complaint: str) -> None:
    s = TriageSession()
    s.observe(text)
    assert s.decision().complaint == complaint


def test_every_decision_has_a_reason_and_a_known_level() -> None:
    for text in ["hello", "I have a headache", "my knee hurts"]:
        _, d, _ = run_dialogue(text, answers={"severity": "3", "duration_hours": "2 days"})
        assert d.level in LEVELS
        assert d.reasons and d.reasons[0].explanation["en"] and d.reasons[0].explanation["zh"]
        assert "diagnosis" in d.explanation("en")


def test_the_engine_never_claims_a_diagnosis(library: ProtocolLibrary) -> None:
    banned = ("you have ", "diagnosis is", "you are suffering from", "您患有", "诊断为")
    texts = [library.level_text(level, lang) for level in LEVELS for lang in ("en", "zh")]
    for proto in library.complaints.values():
        texts += [r.explain[lang] for r in proto.rules for lang in ("en", "zh")]
    for t in texts:
        assert not any(b in t.lower() for b in banned), t
