"""Parsing without a store: language, sentences, tokens, headings, and bad files refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.loaders import LoadError, SourceDefaults, load_file
from knowledge.text import detect_language, split_sentences, tokenize
from tests.knowledge.fixtures import write_bad_files, write_library


def test_detect_language() -> None:
    assert detect_language("Do I need to fast before my CT scan?") == "en"
    assert detect_language("我做CT检查前需要空腹吗？") == "zh"
    assert detect_language("") == "en"


def test_split_sentences_handles_bullets_and_abbreviations() -> None:
    text = "Key Points\n - Fever is common. - Tiredness, e.g. after meals, happens. Rest helps!\n服药后多喝水。注意休息。"
    assert split_sentences(text) == [
        "Key Points",
        "Fever is common.",
        "Tiredness, e.g. after meals, happens.",
        "Rest helps!",
        "服药后多喝水。",
        "注意休息。",
    ]


def test_tokenize_stems_and_drops_stopwords() -> None:
    assert tokenize("What are the treatments for Lactose Intolerance?") == [
        "treatment",
        "lactos",
        "intoleranc",
    ]
    assert tokenize("treatment") == tokenize("treatments")
    assert "空腹" in tokenize("需要空腹吗")


def test_markdown_heading_path_and_front_matter(tmp_path: Path) -> None:
    files = write_library(tmp_path)
    [doc], bad = load_file(files["md"], SourceDefaults())
    assert not bad
    assert doc.title == "Preparing for your CT scan"
    assert (doc.source, doc.licence, doc.specialty) == ("Careline Radiology", "CC BY 4.0", "radiology")
    assert doc.url == "https://careline.example/ct-prep"
    paths = [s.heading_path for s in doc.sections]
    assert paths == [("Before the scan", "Fasting"), ("Before the scan", "Metformin"), ("After the scan",)]
    # a sentence soft-wrapped over two lines stays one sentence
    assert "You may drink clear water up to two hours before the scan." in split_sentences(
        doc.sections[0].text
    )
    chunks = chunk_document(doc)
    assert chunks[0].context == "Preparing for your CT scan > Before the scan > Fasting"
    assert "four hours" in chunks[0].text


def test_html_drops_scripts_and_navigation(tmp_path: Path) -> None:
    files = write_library(tmp_path)
    [doc], _ = load_file(files["html"], SourceDefaults())
    assert doc.title == "Wound care after surgery"
    assert doc.url == "https://careline.example/wound-care"
    assert (doc.source, doc.licence, doc.language) == ("Careline Surgery", "Internal", "en")
    assert "tracking" not in doc.text and "Home | Contact" not in doc.text
    assert [s.heading_path for s in doc.sections] == [("Keeping the wound clean",), ("Signs of infection",)]
    assert "Pus or a bad smell" in doc.sections[1].text


def test_plain_text_and_pdf_headings(tmp_path: Path) -> None:
    files = write_library(tmp_path)
    [txt], _ = load_file(files["txt"], SourceDefaults(source="leaflets", licence="Internal"))
    assert [s.heading_path for s in txt.sections] == [
        ("RADIOTHERAPY SIDE EFFECTS",),
        ("Looking After Your Skin",),
    ]
    assert (txt.source, txt.licence) == ("leaflets", "Internal")
    [pdf], _ = load_file(files["pdf"], SourceDefaults())
    assert "Sit quietly for five minutes" in pdf.text
    assert pdf.sections[0].heading_path == ("BLOOD PRESSURE AT HOME",)


def test_jsonl_records_keep_medquad_attribution(tmp_path: Path) -> None:
    path = tmp_path / "medquad.jsonl"
    path.write_text(
        '{"id": "medquad-1-1", "source": "NIDDK", "url": "https://x", "focus": "Gout", "qtype": "treatment",'
        ' "text": "Gout is treated with medicines."}\n'
        '{"id": "medquad-1-1", "source": "NHLBI", "focus": "Asthma", "qtype": "symptoms", "text": "Wheezing."}\n'
        "not json\n",
        encoding="utf-8",
    )
    docs, bad = load_file(path, SourceDefaults())
    assert [d.doc_id for d in docs] == ["medquad-1-1:gout", "medquad-1-1:asthma"]
    assert docs[0].licence == "CC BY 4.0" and "Ben Abacha" in docs[0].attribution
    assert docs[0].sections[0].heading_path == ("Treatment",)
    assert [b.path for b in bad] == ["medquad.jsonl:3"]


@pytest.mark.parametrize("kind", ["empty", "binary", "huge", "encoding", "pdf", "unsupported"])
def test_bad_files_raise_with_reason(tmp_path: Path, kind: str) -> None:
    files = write_bad_files(tmp_path, max_bytes=10_000)
    with pytest.raises(LoadError) as err:
        load_file(files[kind], SourceDefaults(), max_bytes=10_000)
    expected = {
        "empty": "empty",
        "binary": "binary",
        "huge": "too large",
        "encoding": "UTF-8",
        "pdf": "PDF",
        "unsupported": "unsupported",
    }[kind]
    assert expected in err.value.reason
