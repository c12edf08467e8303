"""The assistant test world: a real clinical API (SQLite, demo seed), a real knowledge base (a MedQuAD
subset in Chroma) and the assistant server, with the seeded passwords. Used by the assistant and web tests
through the session fixture `world` (tests/conftest.py); imported by this unique module name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, free_port

from assistant.server import create_app as create_assistant
from assistant.services import build_services
from careline.settings import ChromaSettings, ServerSettings, Settings
from clinical_api.app import create_app as create_clinical
from clinical_api.seed import seed
from knowledge import KnowledgeBase
from knowledge.sample import topic_subset
from models.registry import ModelRegistry


@dataclass
class World:
    clinical_url: str
    assistant_url: str
    settings: Settings
    passwords: dict[str, str]

    def token(self, username: str, base: str | None = None) -> str:
        response = httpx.post(
            f"{base or self.clinical_url}/auth/token",
            data={"username": username, "password": self.passwords[username]},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def assistant(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.assistant_url, headers=headers, timeout=120)

    def clinical(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.clinical_url, headers=headers, timeout=30)


KB_TOPICS = ("radiation", "glaucoma", "high blood pressure", "diabetes", "wound", "asthma")


def running_world(
    tmp_path_factory: pytest.TempPathFactory, registry: ModelRegistry, shared_data: Path
) -> Iterator[World]:
    """Both servers on loopback over a seeded SQLite clinical API and a MedQuAD subset."""
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
