"""A real clinical API (SQLite), a real knowledge base (a MedQuAD subset in Chroma) and the assistant server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from assistant_world import World
from live_server import LiveServer, free_port

from assistant.server import create_app as create_assistant
from assistant.services import build_services
from careline.settings import ChromaSettings, ServerSettings, Settings
from clinical_api.app import create_app as create_clinical
from clinical_api.seed import seed
from knowledge import KnowledgeBase
from knowledge.sample import topic_subset
from models.registry import ModelRegistry

KB_TOPICS = ("radiation", "glaucoma", "high blood pressure", "diabetes", "wound", "asthma")


@pytest.fixture(scope="session")
def world(
    tmp_path_factory: pytest.TempPathFactory, registry: ModelRegistry, shared_data: Path
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("assistant-world")
    clinical_port, assistant_port = free_port(), free_port()
    settings = Settings(
        data_dir=tmp,
        cache_dir=registry.settings.cache_dir,
        chroma=ChromaSettings(path=tmp / "chroma"),
        server=ServerSettings(
            clinical_port=clinical_port,
            assistant_port=assistant_port,
            cors_origins=[f"http://127.0.0.1:{assistant_port}"],  # the web consoles (tests/web)
        ),
        log_level="WARNING",
    )
    clinical_app = create_clinical(settings)
    with clinical_app.state.sessionmaker() as session:
        report = seed(session, settings)
        session.commit()
    passwords = {username: password for username, password, _ in report.users}
    passwords[settings.security.service_username] = settings.security.service_password.get_secret_value()
    knowledge = KnowledgeBase.from_settings(settings)
    knowledge.ingest(
        [topic_subset(shared_data / "medquad" / "corpus.jsonl", tmp / "subset.jsonl", KB_TOPICS)]
    )
    services = build_services(settings, registry)
    assistant_app = create_assistant(settings, services, preload=False)
    with (
        LiveServer(clinical_app, port=clinical_port) as clinical,
        LiveServer(assistant_app, port=assistant_port) as assistant,
    ):
        yield World(clinical.url, assistant.url, settings, passwords)
