"""The Chroma server mode (a real `chroma run`) and the `careline kb` CLI through Typer's CliRunner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careline.settings import ChromaSettings, Settings
from knowledge import cli
from knowledge.base import KnowledgeBase
from models.protocols import Embedder
from tests.knowledge.fixtures import write_library


def test_chroma_server_mode(tmp_path: Path, kb_embedder: Embedder, chroma_server: tuple[str, int]) -> None:
    host, port = chroma_server
    settings = Settings(
        data_dir=tmp_path / "data", chroma=ChromaSettings(host=host, port=port, collection="srv")
    )
    kb = KnowledgeBase(settings, kb_embedder)
    assert kb.store.location == f"http://{host}:{port}"
    write_library(tmp_path / "docs")
    report = kb.ingest([tmp_path / "docs"])
    assert len(report.ingested) == 4
    assert not (tmp_path / "data" / "chroma").exists()  # nothing written to the embedded folder
    # A second client (another worker) sees the same library, and BM25 follows the server's revision.
    other = KnowledgeBase(settings, kb_embedder)
    hits = other.search("how long should I fast before a CT scan with contrast", 3)
    assert hits[0].citation.title == "Preparing for your CT scan"
    assert kb.ingest([tmp_path / "docs"]).unchanged
    removed = kb.remove(doc_ids=[hits[0].doc_id])
    assert removed == [hits[0].doc_id]
    assert all(p.doc_id != hits[0].doc_id for p in other.search("fast before a CT scan", 5, mode="bm25"))


def test_unreachable_server_is_a_config_error(tmp_path: Path, kb_embedder: Embedder) -> None:
    from careline.errors import ConfigError

    settings = Settings(data_dir=tmp_path, chroma=ChromaSettings(host="127.0.0.1", port=1))
    with pytest.raises(ConfigError):
        KnowledgeBase(settings, kb_embedder)


@pytest.fixture()
def runner_settings(tmp_path: Path, medquad_subset: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path / "data", chroma=ChromaSettings(corpus_path=medquad_subset))
    cli.use_settings(settings)
    yield settings
    cli.use_settings(None)


def test_cli_ingest_query_answer_remove_stats(tmp_path: Path, runner_settings: Settings) -> None:
    runner = CliRunner()
    write_library(tmp_path / "docs")
    (tmp_path / "docs" / "empty.txt").write_text("")
    result = runner.invoke(cli.app, ["ingest", str(tmp_path / "docs"), "--source", "leaflets"])
    assert result.exit_code == 0, result.output
    assert (
        "ingested 4" in result.output
        and "skipped" in result.output
        and "empty.txt: empty file" in result.output
    )

    result = runner.invoke(cli.app, ["query", "wound infection signs", "--k", "2"])
    assert result.exit_code == 0 and "[1]" in result.output and "Wound care after surgery" in result.output

    result = runner.invoke(
        cli.app, ["query", "pus or a bad smell from my wound, is it infected?", "--answer"]
    )
    assert result.exit_code == 0 and "Sources:" in result.output and "covered=True" in result.output

    result = runner.invoke(cli.app, ["query", "What is the capital of France?", "--answer"])
    assert result.exit_code == 0 and "covered=False" in result.output

    result = runner.invoke(cli.app, ["stats", "--json"])
    assert result.exit_code == 0 and '"documents": 4' in result.output

    result = runner.invoke(cli.app, ["remove", "--source", "leaflets"])
    assert result.exit_code == 0 and "removed 2 document(s)" in result.output  # the txt and the pdf
    result = runner.invoke(cli.app, ["remove"])
    assert result.exit_code != 0


def test_cli_bootstrap_only_when_empty(runner_settings: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(cli.app, ["bootstrap"])
    assert first.exit_code == 0, first.output
    assert "ingested 210" in first.output
    second = runner.invoke(cli.app, ["bootstrap"])
    assert second.exit_code == 0 and "nothing to do" in second.output
    query = runner.invoke(cli.app, ["query", "body lice", "--source", "CDC", "--mode", "bm25"])
    assert query.exit_code == 0 and "Body Lice" in query.output
