"""`careline kb ...`: ingest, query, remove, bootstrap and stats for the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careline.settings import Settings, get_settings
from knowledge.base import KnowledgeBase, default_corpus_path
from knowledge.loaders import SourceDefaults
from knowledge.types import IngestReport

app = typer.Typer(
    help="The medical knowledge base (Chroma + BM25, answers with sources).", no_args_is_help=True
)

_settings_override: Settings | None = None


def use_settings(settings: Settings | None) -> None:
    """Lets tests (and the parent CLI) hand in their own Settings instead of the environment's."""
    global _settings_override
    _settings_override = settings


def _kb() -> KnowledgeBase:
    return KnowledgeBase.from_settings(_settings_override or get_settings())


def _print_report(report: IngestReport) -> None:
    typer.echo(report.summary())
    for skipped in report.skipped:
        typer.echo(f"  skipped {skipped.path}: {skipped.reason}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.jsonl, .md, .html, .pdf, .txt)")],
    source: Annotated[str, typer.Option(help="Source name for files that do not state one")] = "local",
    licence: Annotated[str, typer.Option(help="Licence for files that do not state one")] = "",
    attribution: Annotated[
        str, typer.Option(help="Attribution text shown with answers from these files")
    ] = "",
    specialty: Annotated[str, typer.Option(help="Specialty for these files (default: guessed)")] = "",
) -> None:
    """Ingest documents; unchanged ones are skipped, changed ones replaced, bad files reported."""
    defaults = SourceDefaults(source=source, licence=licence, attribution=attribution, specialty=specialty)
    report = _kb().ingest(paths, defaults=defaults, progress=True)
    _print_report(report)


@app.command()
def query(
    question: Annotated[str, typer.Argument(help="A question or search words")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many passages")] = 5,
    answer: Annotated[bool, typer.Option("--answer", help="Give a grounded answer with sources")] = False,
    lang: Annotated[str, typer.Option(help="Answer language (en, zh)")] = "en",
    mode: Annotated[str, typer.Option(help="hybrid, vector or bm25 (passages only)")] = "hybrid",
    language: Annotated[str | None, typer.Option(help="Only passages in this language")] = None,
    specialty: Annotated[str | None, typer.Option(help="Only passages of this specialty")] = None,
    source: Annotated[str | None, typer.Option(help="Only passages from this source")] = None,
) -> None:
    """Search the library, or answer from it (--answer)."""
    kb = _kb()
    if answer:
        result = kb.answer(question, lang, k=k, specialty=specialty, source=source)
        typer.echo(result.with_sources())
        typer.echo(f"\n(confidence {result.confidence:.2f}, covered={result.covered}, {result.mode})")
        return
    if mode not in ("hybrid", "vector", "bm25"):
        raise typer.BadParameter("mode must be hybrid, vector or bm25")
    passages = kb.search(question, k, mode=mode, language=language, specialty=specialty, source=source)  # type: ignore[arg-type]
    if not passages:
        typer.echo("No passages found.")
    for i, p in enumerate(passages, 1):
        sim = f"{p.vector_similarity:.3f}" if p.vector_similarity is not None else "-"
        typer.echo(f"[{i}] score={p.score:.4f} cos={sim} {p.citation.label()}\n    chunk {p.chunk_id}")
        typer.echo("    " + p.text[:400].replace("\n", " ") + ("..." if len(p.text) > 400 else ""))


@app.command()
def remove(
    doc_id: Annotated[list[str] | None, typer.Argument(help="Document ids to remove")] = None,
    source: Annotated[str | None, typer.Option(help="Remove every document of this source")] = None,
) -> None:
    """Remove documents by id, or all documents of a source."""
    if not doc_id and not source:
        raise typer.BadParameter("give document ids or --source")
    removed = _kb().remove(doc_ids=doc_id or [], source=source)
    typer.echo(f"removed {len(removed)} document(s)")
    for d in removed:
        typer.echo(f"  {d}")


@app.command()
def bootstrap(
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus JSONL (default: the shared MedQuAD corpus)")
    ] = None,
) -> None:
    """Ingest the shared MedQuAD corpus if the library is empty."""
    kb = _kb()
    path = corpus or default_corpus_path(kb.settings)
    report = kb.bootstrap(path, progress=True)
    if report is None:
        typer.echo(f"library already holds {kb.store.count()} chunks; nothing to do")
        return
    _print_report(report)


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """What the library holds: documents, chunks, sources, languages, specialties, licences."""
    data = _kb().stats()
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")
