"""Follow-up plans: expansion into dated check-ins, readings as Observations, escalations."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from assistant.clinical.followup import (
    evaluate_readings,
    expand_plan,
    list_plans,
    load_plan,
    make_observation,
    parse_reading,
)


def test_all_plans_load_and_are_bilingual() -> None:
    assert set(list_plans()) == {"radiotherapy", "orthopaedic_surgery", "chronic_disease", "dermatology"}
    for pid in list_plans():
        plan = load_plan(pid)
        for item_id in plan.items:
            assert plan.prompt(item_id, "en") != plan.prompt(item_id, "zh")


def test_expand_plan_dates() -> None:
    plan = load_plan("radiotherapy")
    checkins = expand_plan(plan, date(2026, 3, 1))
    assert [c.day for c in checkins] == [7, 14, 21, 28, 35, 42, 56, 90]
    assert checkins[0].due == "2026-03-08" and checkins[-1].due == "2026-05-30"
    assert checkins[0].items == ["skin_reaction", "fatigue", "mucositis", "nausea"]
    prompts = checkins[0].prompts(plan, "zh")
    assert prompts[0]["item"] == "skin_reaction" and "皮肤" in prompts[0]["text"]
    ortho = expand_plan(load_plan("orthopaedic_surgery"), date(2026, 1, 1))
    assert ortho[0].due == "2026-01-02" and len(ortho) == 9


def _series(plan_id: str, item: str, values: list[float]) -> list[dict]:
    plan = load_plan(plan_id)
    t0 = datetime(2026, 1, 1, 9, 0)
    return [
        make_observation(plan, item, v, t0 + timedelta(days=7 * i), subject="Patient/1")
        for i, v in enumerate(values)
    ]


def test_observation_shape() -> None:
    obs = _series("chronic_disease", "systolic_bp", [142])[0]
    assert obs["resourceType"] == "Observation" and obs["status"] == "final"
    assert obs["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "8480-6",
        "display": "Systolic blood pressure",
    }
    assert obs["valueQuantity"]["value"] == 142 and obs["valueQuantity"]["code"] == "mm[Hg]"
    assert obs["effectiveDateTime"].startswith("2026-01-01")
    from fhir.resources.R4B.observation import Observation

    Observation.model_validate(obs)
    grade = _series("radiotherapy", "skin_reaction", [2])[0]
    assert grade["valueInteger"] == 2
    Observation.model_validate(grade)


def test_threshold_escalation() -> None:
    plan = load_plan("chronic_disease")
    esc = evaluate_readings(plan, _series("chronic_disease", "glucose", [6.0, 2.7]))
    assert esc[0].level == "emergency" and esc[0].readings[0]["value"] == 2.7
    assert "3.0" in esc[0].text("en") and "低血糖" in esc[0].text("zh")
    assert evaluate_readings(plan, _series("chronic_disease", "glucose", [6.0, 6.5])) == []


def test_three_rising_readings() -> None:
    plan = load_plan("chronic_disease")
    esc = evaluate_readings(plan, _series("chronic_disease", "systolic_bp", [128, 136, 149]))
    assert [(e.rule, e.level) for e in esc] == [("systolic_bp.trend[0].rising", "consultation")]
    assert [r["value"] for r in esc[0].readings] == [128, 136, 149]
    assert evaluate_readings(plan, _series("chronic_disease", "systolic_bp", [128, 136, 130])) == []


def test_grade_increase_by_two() -> None:
    plan = load_plan("radiotherapy")
    esc = evaluate_readings(plan, _series("radiotherapy", "skin_reaction", [0, 1, 2]))
    assert esc and esc[0].level == "consultation_24" and esc[0].rule.endswith("increase_by")
    assert [r["value"] for r in esc[0].readings] == [0, 2]
    assert evaluate_readings(plan, _series("radiotherapy", "skin_reaction", [1, 2])) == []
    esc = evaluate_readings(plan, _series("radiotherapy", "mucositis", [1, 4]))
    assert esc[0].level == "emergency"


def test_lesion_growth_twenty_percent() -> None:
    plan = load_plan("dermatology")
    esc = evaluate_readings(plan, _series("dermatology", "lesion_size", [5.0, 5.4, 6.0]))
    assert esc and esc[0].rule.endswith("percent_increase")
    assert evaluate_readings(plan, _series("dermatology", "lesion_size", [5.0, 5.4, 5.9])) == []
    photo = make_observation(
        plan, "photo", None, datetime(2026, 1, 1), attachment_url="https://example/p.jpg"
    )
    assert photo["valueAttachment"]["url"] == "https://example/p.jpg"


def test_wound_choice_and_parsing() -> None:
    plan = load_plan("orthopaedic_surgery")
    assert parse_reading(plan, "wound", "the wound is opening up a bit") == "open"
    assert parse_reading(plan, "wound", "伤口干净") == "clean"
    assert parse_reading(plan, "temperature", "三十八点五度") == pytest.approx(38.5)
    assert parse_reading(plan, "pain", "about 7") == 7
    assert parse_reading(plan, "pain", "no idea") is None
    assert parse_reading(plan, "pain", "15") is None
    esc = evaluate_readings(plan, [make_observation(plan, "wound", "open", datetime(2026, 1, 3))])
    assert esc[0].level == "emergency" and esc[0].rule == "wound.choice.open"
    esc = evaluate_readings(plan, [make_observation(plan, "temperature", 38.4, datetime(2026, 1, 3))])
    assert esc[0].level == "consultation_24"
