"""Suite-wide fixtures: one model registry for the whole session (models load once)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from assistant_world import World, running_world

from careline.paths import REPO_ROOT, SHARED_DATA
from careline.settings import Settings
from models.registry import ModelRegistry, get_registry

# Every clinical API a test starts would otherwise run the outreach scheduler in the background and write
# jobs and nurse Tasks into that test's database; the outreach tests turn it on where they test it.
os.environ.setdefault("CARELINE_OUTREACH__ENABLED", "false")

CACHE_DIR = REPO_ROOT / ".cache" / "careline"


@pytest.fixture(scope="session")
def world(
    tmp_path_factory: pytest.TempPathFactory, registry: ModelRegistry, shared_data: Path
) -> Iterator[World]:
    """Both servers with the real models, shared by the assistant and web tests (started once)."""
    yield from running_world(tmp_path_factory, registry, shared_data)


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Whether the PostgreSQL server at 127.0.0.1:5432 answers (tests on it skip otherwise)."""
    from clinical_world import pg_is_available

    return pg_is_available()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def model_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("models-data"), cache_dir=CACHE_DIR, log_level="WARNING")


@pytest.fixture(scope="session")
def registry(model_settings: Settings) -> Iterator[ModelRegistry]:
    """The process-wide registry: every package's tests share the same loaded models."""
    yield get_registry(model_settings)
