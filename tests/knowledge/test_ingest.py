"""Ingest into a real embedded Chroma folder: every format, idempotence, replacement, removal, bad files."""

from __future__ import annotations

from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.loaders import SourceDefaults
from tests.knowledge.fixtures import MARKDOWN, write_bad_files, write_library


def _chunk_ids(kb: KnowledgeBase, doc_id: str) -> list[str]:
    return sorted(kb.store.collection.get(where={"doc_id": doc_id}, include=[])["ids"])


def test_ingests_every_format_with_metadata(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    files = write_library(tmp_path / "docs")
    report = fresh_kb.ingest(
        [tmp_path / "docs"], defaults=SourceDefaults(source="leaflets", licence="Internal")
    )
    assert len(report.ingested) == 4 and not report.skipped and not report.unchanged
    metas = fresh_kb.store.collection.get(include=["metadatas"])["metadatas"]
    by_title = {m["title"]: m for m in metas}
    assert set(by_title) == {
        "Preparing for your CT scan",
        "Wound care after surgery",
        "radiotherapy",
        "blood pressure",
    }
    ct = by_title["Preparing for your CT scan"]
    assert (ct["source"], ct["licence"], ct["language"], ct["specialty"]) == (
        "Careline Radiology",
        "CC BY 4.0",
        "en",
        "radiology",
    )
    assert ct["doc_id"] == f"file:{files['md'].resolve().as_posix()}"
    assert (
        by_title["radiotherapy"]["source"] == "leaflets"
        and by_title["radiotherapy"]["specialty"] == "oncology"
    )
    assert by_title["Wound care after surgery"]["url"] == "https://careline.example/wound-care"
    headings = {m["heading"] for m in metas if m["title"] == "Preparing for your CT scan"}
    assert "Before the scan > Fasting" in headings
    stats = fresh_kb.stats()
    assert stats["documents"] == 4 and stats["chunks"] == report.chunks_added


def test_reingest_unchanged_does_nothing(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    write_library(tmp_path / "docs")
    first = fresh_kb.ingest([tmp_path / "docs"])
    revision = fresh_kb.store.revision()
    second = fresh_kb.ingest([tmp_path / "docs"])
    assert len(second.unchanged) == 4 and not second.ingested and not second.replaced
    assert second.chunks_added == 0
    assert fresh_kb.store.count() == first.chunks_added
    assert fresh_kb.store.revision() == revision


def test_changed_document_replaces_its_chunks(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    files = write_library(tmp_path / "docs")
    fresh_kb.ingest([files["md"]])
    doc_id = f"file:{files['md'].resolve().as_posix()}"
    before = _chunk_ids(fresh_kb, doc_id)
    files["md"].write_text(
        MARKDOWN.split("## After the scan")[0] + "## Results\nYour doctor sends the results.\n"
    )
    report = fresh_kb.ingest([files["md"]])
    assert report.replaced == [doc_id] and not report.ingested
    after = fresh_kb.store.collection.get(where={"doc_id": doc_id}, include=["documents"])
    assert len(after["ids"]) == len(before)
    text = " ".join(after["documents"])
    assert "Your doctor sends the results." in text and "plenty of water" not in text
    hits = fresh_kb.search("drink plenty of water to clear the contrast dye", 5, mode="bm25")
    assert all("plenty of water" not in p.text for p in hits)
    assert any("results" in p.text for p in fresh_kb.search("who sends the results", 3, mode="bm25"))


def test_remove_by_id_and_by_source(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    files = write_library(tmp_path / "docs")
    fresh_kb.ingest([tmp_path / "docs"], defaults=SourceDefaults(source="leaflets"))
    assert fresh_kb.search("tiredness after radiotherapy", 3, mode="bm25")
    doc_id = f"file:{files['txt'].resolve().as_posix()}"
    assert fresh_kb.remove(doc_ids=[doc_id]) == [doc_id]
    assert _chunk_ids(fresh_kb, doc_id) == []
    assert all(p.doc_id != doc_id for p in fresh_kb.search("tiredness after radiotherapy", 5, mode="bm25"))
    removed = fresh_kb.remove(source="leaflets")  # the PDF (the others state their own source)
    assert removed == [f"file:{files['pdf'].resolve().as_posix()}"]
    assert fresh_kb.stats()["documents"] == 2
    assert fresh_kb.remove(doc_ids=["no-such-doc"]) == []


def test_bad_files_are_reported_and_skipped(tmp_path: Path, fresh_kb: KnowledgeBase) -> None:
    fresh_kb.settings.chroma.max_file_bytes = 10_000
    bad = write_bad_files(tmp_path / "docs", max_bytes=10_000)
    good = write_library(tmp_path / "docs")
    report = fresh_kb.ingest([tmp_path / "docs", tmp_path / "missing.md"])
    assert len(report.ingested) == len(good)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(skipped) == {p.name for p in bad.values()} | {"missing.md"}
    assert "too large" in skipped["huge.txt"] and "binary" in skipped["binary.txt"]
    assert "UTF-8" in skipped["latin1.txt"] and "PDF" in skipped["broken.pdf"]
    assert "empty" in skipped["empty.md"] and "unsupported" in skipped["photo.png"]


def test_medquad_subset_metadata(medquad_kb: KnowledgeBase) -> None:
    stats = medquad_kb.stats()
    assert stats["by_licence"] == {"CC BY 4.0": stats["documents"]}
    assert set(stats["by_source"]) == {"CancerGov", "MPlusHealthTopics", "NIDDK", "NINDS", "NIHSeniorHealth",
                                       "NHLBI", "CDC"}  # fmt: skip
    meta = medquad_kb.store.collection.get(limit=1, include=["metadatas"])["metadatas"][0]
    assert meta["attribution"].startswith("MedQuAD") and meta["record_id"].startswith("medquad-")
