"""A small topic-focused slice of a JSONL corpus: quick demos, tests and benchmarks ingest this."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def topic_subset(corpus: Path, target: Path, topics: Iterable[str], per_topic: int = 25) -> Path:
    """Writes to `target` up to `per_topic` lines whose `focus` names each topic; returns `target`."""
    wanted = tuple(topic.lower() for topic in topics)
    counts = dict.fromkeys(wanted, 0)
    picked: list[str] = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            focus = json.loads(line).get("focus", "").lower()
            topic = next((t for t in wanted if t in focus), None)
            if topic and counts[topic] < per_topic:
                counts[topic] += 1
                picked.append(line)
    target.write_text("".join(picked), encoding="utf-8")
    return target
