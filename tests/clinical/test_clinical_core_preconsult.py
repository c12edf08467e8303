"""Pre-consultation: red flags first, slots skipped when already given, summary of stated findings only."""

from __future__ import annotations

from assistant.clinical.preconsult import PreconsultSession


def _run(
    opening: str, answers: dict[str, str], lang: str = "en", default: str = "no"
) -> tuple[PreconsultSession, list[str]]:
    p = PreconsultSession(lang=lang)
    p.observe(opening, lang)
    asked: list[str] = []
    for _ in range(60):
        q = p.next_question()
        if q is None:
            break
        asked.append(q.id)
        p.answer(q.id, answers.get(q.id, default))
    return p, asked


ANSWERS = {
    "s:site": "lower back, on the right",
    "s:radiation": "it doesn't spread",
    "s:associated": "I feel tired",
    "s:timing": "it comes and goes",
    "s:relieving": "lying down helps",
    "s:past_history": "high blood pressure",
    "s:medications": "amlodipine 5 mg",
    "s:allergies": "penicillin",
    "a:severity": "6",
}


def test_red_flags_come_before_history_slots() -> None:
    _, asked = _run("I've had pain in my lower back for 3 days", ANSWERS)
    first_slot = next(i for i, q in enumerate(asked) if q.startswith("s:"))
    assert all(not q.startswith("s:") for q in asked[:first_slot])
    assert "c:leg_weakness" in asked[:first_slot]


def test_slots_already_given_are_skipped() -> None:
    opening = "I've had a sharp pain in my lower back for 3 days, it gets worse when I bend. I take ibuprofen. No allergies."
    p, asked = _run(opening, ANSWERS)
    for slot in ("s:onset", "s:character", "s:exacerbating", "s:medications", "s:allergies"):
        assert slot not in asked, slot
    assert p.slots["character"]["source"] == "volunteered"
    assert "s:radiation" in asked and "s:past_history" in asked
    _, asked_plain = _run("I've had pain in my lower back", ANSWERS)
    assert "s:character" in asked_plain and "s:medications" in asked_plain


def test_summary_contains_only_stated_findings_with_their_words() -> None:
    opening = "I've had a sharp pain in my lower back for 3 days, it gets worse when I bend. No fever."
    p, _ = _run(opening, ANSWERS)
    s = p.summary()
    said = [opening] + [t["answer"] for t in p.turns]
    for item in s.pertinent_positives + s.pertinent_negatives:
        assert any(item["evidence"] in u for u in said), item
    positives = {i["concept"] for i in s.pertinent_positives}
    negatives = {i["concept"] for i in s.pertinent_negatives}
    assert positives == {"low_back_pain", "fatigue"}
    assert {"fever", "leg_weakness", "saddle_numbness", "bladder_bowel_loss"} <= negatives
    assert "3 day" in s.history_of_present_illness and "Severity 6/10" in s.history_of_present_illness
    assert (
        s.past_history == "high blood pressure"
        and s.medications == "amlodipine 5 mg"
        and s.allergies == "penicillin"
    )
    assert any(r["question_id"] == "c:leg_weakness" and r["value"] is False for r in s.red_flags_asked)
    assert s.triage_level == "self_care" or s.triage_level.startswith("consultation")
    assert s.triage_reasons and s.disclaimer


def test_unknown_answers_are_not_reported_as_findings() -> None:
    p, _ = _run("I have a headache", {"a:severity": "3"}, default="I don't know")
    s = p.summary()
    concepts = {i["concept"] for i in s.pertinent_positives + s.pertinent_negatives}
    assert concepts == {"headache"}
    assert any(r["value"] is None for r in s.red_flags_asked)


def test_questionnaire_response_shape() -> None:
    p, asked = _run("I've had pain in my lower back for 3 days", ANSWERS)
    qr = p.questionnaire_response()
    assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
    ids = [i["linkId"] for i in qr["item"]]
    assert ids[0] == "chief_complaint" and set(asked) <= set(ids)
    for item in qr["item"]:
        assert item["text"] and item["answer"]
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    QuestionnaireResponse.model_validate(qr)


def test_chinese_preconsult_and_round_trip() -> None:
    p = PreconsultSession(lang="zh")
    p.observe("肚子疼两天了，没有发烧", "zh")
    q = p.next_question()
    assert q is not None and q.text == q.texts["zh"]
    p.answer(q.id, "没有")
    restored = PreconsultSession.from_json(p.to_json())
    assert restored == p
    s = restored.summary()
    assert "患者诉" in s.history_of_present_illness and "否认" in s.history_of_present_illness
    assert {i["concept"] for i in s.pertinent_negatives} >= {"fever"}
