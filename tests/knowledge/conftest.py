"""Fixtures for the knowledge base: one embedder per session, a MedQuAD subset library, a Chroma server."""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from careline.paths import SHARED_DATA
from careline.settings import Settings
from knowledge.base import KnowledgeBase
from models.protocols import Embedder
from models.registry import ModelRegistry

CORPUS = SHARED_DATA / "medquad" / "corpus.jsonl"


@pytest.fixture(scope="session")
def kb_embedder(registry: ModelRegistry) -> Embedder:
    """The suite's shared registry (tests/conftest.py): MiniLM loads once for every package's tests."""
    return registry.embeddings()


@pytest.fixture(scope="session")
def medquad_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 200 short MedQuAD passages, up to 30 per source (fast to embed, covers every publisher)."""
    if not CORPUS.is_file():
        pytest.skip(f"shared MedQuAD corpus not found at {CORPUS}")
    per_source: dict[str, list[str]] = collections.defaultdict(list)
    with CORPUS.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if 200 < len(record["text"]) < 1200 and len(per_source[record["source"]]) < 30:
                per_source[record["source"]].append(line.strip())
    path = tmp_path_factory.mktemp("medquad") / "corpus.jsonl"
    path.write_text(
        "\n".join(line for lines in per_source.values() for line in lines) + "\n", encoding="utf-8"
    )
    return path


@pytest.fixture(scope="session")
def medquad_kb(
    tmp_path_factory: pytest.TempPathFactory, kb_embedder: Embedder, medquad_subset: Path
) -> KnowledgeBase:
    """A read-only library of the subset; tests that change a library use `fresh_kb`."""
    kb = KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("kb")), kb_embedder)
    report = kb.ingest([medquad_subset])
    assert not report.skipped and len(report.ingested) > 150
    return kb


@pytest.fixture()
def fresh_kb(tmp_path: Path, kb_embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=tmp_path / "data"), kb_embedder)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on a free loopback port, with its own data folder."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
