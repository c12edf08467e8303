"""Lexicon: English and Chinese synonyms, negation, duration, severity, laterality."""

from __future__ import annotations

import pytest

from assistant.clinical.findings import Extraction
from assistant.clinical.lexicon import get_lexicon


def extract(text: str, lang: str = "en") -> Extraction:
    return get_lexicon().extract(text, lang)


def states(text: str, lang: str = "en") -> dict[str, bool | None]:
    return {f.concept: f.present for f in extract(text, lang).findings}


def test_english_synonyms_and_evidence_spans() -> None:
    ext = extract("My tummy hurts and I threw up twice")
    got = states("My tummy hurts and I threw up twice")
    assert got["abdominal_pain"] is True and got["vomiting"] is True
    for f in ext.findings:
        assert ext.text[f.start : f.end] == f.evidence


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("腰杆疼", "low_back_pain"),
        ("腿杆使不上力", "leg_weakness"),
        ("胸口疼", "chest_pain"),
        ("拉肚子", "diarrhea"),
    ],
)
def test_chinese_lay_synonyms(text: str, concept: str) -> None:
    assert states(text, "zh")[concept] is True


def test_implied_concepts() -> None:
    got = states("腰杆疼", "zh")
    assert got["back_pain"] is True
    got = states("I have crushing chest pain")
    assert got["crushing_chest_pain"] is True and got["chest_pain"] is True


@pytest.mark.parametrize(
    ("text", "lang", "concept"),
    [
        ("no fever", "en", "fever"),
        ("He denies chest pain", "en", "chest_pain"),
        ("I don't have a headache", "en", "headache"),
        ("没有发烧", "zh", "fever"),
        ("不发烧", "zh", "fever"),
        ("否认胸痛", "zh", "chest_pain"),
    ],
)
def test_negation(text: str, lang: str, concept: str) -> None:
    assert states(text, lang)[concept] is False


def test_negation_scope_ends_at_but_and_new_clause() -> None:
    got = states("No fever, but I have a cough and my head hurts")
    assert got == {"fever": False, "cough": True, "headache": True}
    got = states("没有发烧，但是头疼", "zh")
    assert got["fever"] is False and got["headache"] is True
    got = states("No sore throat, No nausea or vomiting")
    assert got["sore_throat"] is False and got["nausea"] is False and got["vomiting"] is False


def test_pseudo_negation_is_not_negation() -> None:
    assert states("I can't stop vomiting")["vomiting"] is True
    assert states("一直不停地咳嗽", "zh")["cough"] is True


def test_uncertainty() -> None:
    assert states("I'm not sure if I have a fever")["fever"] is None


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("chest pain since yesterday", 24.0),
        ("a cough for 3 days", 72.0),
        ("headache for two weeks", 336.0),
        ("started 5 hours ago", 5.0),
        ("三天了", 72.0),
        ("两周", 336.0),
        ("半个月", 360.0),
    ],
)
def test_duration(text: str, hours: float) -> None:
    attrs = get_lexicon().attributes(text)
    assert attrs["duration_hours"].value == pytest.approx(hours)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pain is 7/10", 7),
        ("about 8 out of 10", 8),
        ("it's mild", 3),
        ("severe pain", 8),
        ("疼得厉害", 8),
        ("六分", 6),
    ],
)
def test_severity(text: str, value: int) -> None:
    assert get_lexicon().attributes(text)["severity"].value == value


def test_laterality_and_site() -> None:
    f = next(
        f for f in extract("pain in my left knee for a week, knee pain").findings if f.concept == "knee_pain"
    )
    assert f.site == "knee"
    lat = {f.concept: f.laterality for f in extract("my left knee hurts").findings}
    assert lat["knee_pain"] == "left"
    lat = {f.concept: f.laterality for f in extract("右膝盖疼", "zh").findings}
    assert lat["knee_pain"] == "right"
    lat = {f.concept: f.laterality for f in extract("双膝盖疼", "zh").findings}
    assert lat["knee_pain"] == "both"
    lat = {f.concept: f.laterality for f in extract("my knee hurts right now").findings}
    assert lat["knee_pain"] is None


def test_age_and_temperature() -> None:
    attrs = get_lexicon().attributes("my 3 year old has 39.2 degrees")
    assert attrs["age_years"].value == 3 and attrs["temperature_c"].value == pytest.approx(39.2)
    attrs = get_lexicon().attributes("宝宝两个月大，三十八点五度")
    assert attrs["age_years"].value == pytest.approx(2 / 12)
    assert attrs["temperature_c"].value == pytest.approx(38.5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("Yes, but no fever", True),
        ("no", False),
        ("nope", False),
        ("I don't know", None),
        ("not sure", None),
        ("有", True),
        ("没有", False),
        ("不知道", None),
        ("不是", False),
        ("", None),
    ],
)
def test_yes_no(text: str, value: bool | None) -> None:
    assert get_lexicon().yes_no(text) is value


def test_unrelated_text_gives_no_findings() -> None:
    assert extract("I would like to book an appointment for next Tuesday").findings == []
