"""Retrieval quality and speed of the knowledge base on MedQuAD.

Ingests the full shared corpus into a temporary Chroma folder (or reuses one with --keep), then asks the
dev questions and prints recall@1/5/10 and MRR@10 (document level: a chunk maps to its document id) for
vector-only, BM25-only and hybrid retrieval, the ingest rate, and query latency p50/p95.

    python -m bench.retrieval_eval [--limit N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from careline.settings import Settings
from knowledge.base import KnowledgeBase, default_corpus_path
from knowledge.loaders import jsonl_doc_id

MODES = ("hybrid", "vector", "bm25")  # hybrid first: its latency includes embedding the question


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def doc_ranking(kb: KnowledgeBase, question: str, mode: str, depth: int) -> list[str]:
    seen: dict[str, None] = {}
    for p in kb.search(question, depth, mode=mode):  # type: ignore[arg-type]
        seen.setdefault(p.doc_id, None)
    return list(seen)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=0, help="Questions to ask (random sample; 0 = all)")
    parser.add_argument("--keep", type=Path, default=None, help="Chroma data folder to keep and reuse")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--questions", type=Path, default=None)
    parser.add_argument("--answers", type=int, default=50, help="Questions timed through answer()")
    parser.add_argument(
        "--query-threads", type=int, default=0, help="torch threads for the query phase (0 = leave)"
    )
    args = parser.parse_args()

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="careline-bench-"))
    settings = Settings(data_dir=data_dir)
    corpus = args.corpus or default_corpus_path(settings)
    questions_path = args.questions or corpus.with_name("dev_questions.jsonl")
    kb = KnowledgeBase.from_settings(settings)

    stats_file = data_dir / "ingest_stats.json"
    if kb.store.count() == 0:
        report = kb.ingest([corpus], progress=True)
        passages = len(report.ingested) + len(report.replaced)
        stats = {"passages": passages, "chunks": report.chunks_added, "seconds": report.seconds}
        stats_file.write_text(json.dumps(stats))
    else:
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        print(f"reusing {data_dir} ({kb.store.count()} chunks)")
    if stats:
        print(
            f"ingest: {stats['passages']} passages, {stats['chunks']} chunks in {stats['seconds']:.1f}s = "
            f"{stats['passages'] / stats['seconds']:.1f} passages/s ({stats['chunks'] / stats['seconds']:.1f} chunks/s)"
        )

    questions = [json.loads(line) for line in questions_path.read_text().splitlines() if line.strip()]
    if args.limit and args.limit < len(questions):
        questions = random.Random(0).sample(questions, args.limit)
    if args.query_threads:
        import torch

        torch.set_num_threads(args.query_threads)
    kb.retriever.lexical()  # build BM25 once, outside the timings
    hits = {m: {1: 0, 5: 0, 10: 0} for m in MODES}
    rr = dict.fromkeys(MODES, 0.0)
    latency = {m: [] for m in MODES}
    for q in questions:
        for mode in MODES:
            started = time.perf_counter()
            ranking = doc_ranking(kb, q["question"], mode, 30)[:10]
            latency[mode].append(time.perf_counter() - started)
            gold = jsonl_doc_id(q["doc_id"], q["focus"])
            if gold in ranking:
                rank = ranking.index(gold) + 1
                rr[mode] += 1.0 / rank
                for cutoff in (1, 5, 10):
                    hits[mode][cutoff] += rank <= cutoff
    n = len(questions)
    print(f"\n{n} questions ({'random sample' if args.limit else 'all'}), document level")
    print("latency: hybrid includes embedding the question; vector/bm25 reuse that embedding")
    print(f"{'mode':8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for mode in MODES:
        lat = latency[mode]
        print(
            f"{mode:8} {hits[mode][1] / n:6.3f} {hits[mode][5] / n:6.3f} {hits[mode][10] / n:6.3f} "
            f"{rr[mode] / n:7.3f} {statistics.median(lat) * 1000:7.1f} {percentile(lat, 0.95) * 1000:7.1f}"
        )

    timings: list[float] = []
    covered = 0
    kb.retriever._query_vectors.clear()
    for q in questions[: args.answers]:
        started = time.perf_counter()
        answer = kb.answer(q["question"])
        timings.append(time.perf_counter() - started)
        covered += answer.covered
    if timings:
        print(
            f"\nanswer(): {len(timings)} questions, covered {covered}/{len(timings)}, "
            f"p50 {statistics.median(timings) * 1000:.0f} ms, p95 {percentile(timings, 0.95) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
