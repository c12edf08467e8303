"""Both servers in this process on loopback: the clinical API (SQLite, demo seed) and the assistant
(every default model, a MedQuAD subset in Chroma). Shared by the text and voice benchmarks."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.server import create_app as create_assistant
from assistant.services import build_services
from bench.common import ServedApp, free_port
from careline.paths import SHARED_DATA
from careline.settings import ChromaSettings, ServerSettings, Settings
from clinical_api.app import create_app as create_clinical
from clinical_api.seed import seed
from knowledge import KnowledgeBase
from knowledge.sample import topic_subset
from models.registry import ModelRegistry

TOPICS = ("diabetes", "blood pressure", "asthma", "radiation", "wound", "glaucoma")


@dataclass
class BenchWorld:
    clinical_url: str
    assistant_url: str
    tokens: list[str]  # one signed-in token per seeded patient
    registry: ModelRegistry

    def open_session(self, token: str, language: str = "en") -> str:
        response = httpx.post(
            f"{self.assistant_url}/v1/sessions",
            headers={"Authorization": f"Bearer {token}"},
            json={"language": language},
            timeout=60,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def ws_url(self, path: str) -> str:
        return self.assistant_url.replace("http://", "ws://") + path


def bench_settings(tmp: Path, clinical_port: int) -> Settings:
    return Settings(
        data_dir=tmp,
        chroma=ChromaSettings(path=tmp / "chroma"),
        server=ServerSettings(clinical_port=clinical_port),
        log_level="WARNING",
    )


@contextmanager
def served_world(registry: ModelRegistry | None = None) -> Iterator[BenchWorld]:
    tmp = Path(tempfile.mkdtemp(prefix="careline-bench-"))
    clinical_port = free_port()
    settings = bench_settings(tmp, clinical_port)
    registry = registry or ModelRegistry(settings)
    clinical_app = create_clinical(settings)
    with clinical_app.state.sessionmaker() as db:
        report = seed(db, settings, days=30)
        db.commit()
    patients = [u for u, _, role in report.users if role == "patient"]
    corpus = SHARED_DATA / "medquad" / "corpus.jsonl"
    KnowledgeBase.from_settings(settings).ingest([topic_subset(corpus, tmp / "subset.jsonl", TOPICS, 40)])
    assistant_app = create_assistant(settings, build_services(settings, registry), preload=True)
    with ServedApp(clinical_app, clinical_port) as clinical, ServedApp(assistant_app) as assistant:
        tokens = [
            httpx.post(
                f"{clinical.url}/auth/token", data={"username": u, "password": "careline-demo"}
            ).json()["access_token"]
            for u in patients
        ]
        yield BenchWorld(clinical.url, assistant.url, tokens, registry)
