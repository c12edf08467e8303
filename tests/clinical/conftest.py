"""Shared fixtures for the clinical core tests: the packaged protocol library and the real MiniLM."""

from __future__ import annotations

import pytest

from assistant.clinical.protocols import ProtocolLibrary, get_library
from models.protocols import Embedder


@pytest.fixture(scope="session")
def library() -> ProtocolLibrary:
    return get_library()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged MiniLM, loaded once per test session through the model registry."""
    from models.registry import get_registry

    return get_registry().embeddings()
