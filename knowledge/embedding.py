"""Chroma's view of the registry embedder.

Chroma falls back to its own default embedding function (which downloads ONNX MiniLM from the internet)
whenever a collection is opened without one; handing it this wrapper every time keeps everything offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from models.protocols import Embedder


class RegistryEmbeddingFunction(EmbeddingFunction[Documents]):
    """Adapts a `models.protocols.Embedder` to Chroma's `EmbeddingFunction` interface."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self.embedder.embed(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_query(self, input: Documents) -> Embeddings:
        return self.__call__(input)

    @staticmethod
    def name() -> str:
        return "careline-registry"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name, "dimension": self.embedder.dimension}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> RegistryEmbeddingFunction:
        """Chroma rebuilds the function from the collection's stored config: resolve it lazily from the
        process's model registry (the model loads only if Chroma itself needs to embed)."""
        embedder = _LazyRegistryEmbedder(str(config.get("embedder", "")), int(config.get("dimension", 0)))
        return RegistryEmbeddingFunction(embedder)

    def is_legacy(self) -> bool:
        return False


class _LazyRegistryEmbedder:
    def __init__(self, name: str, dimension: int) -> None:
        self.name = name
        self.dimension = dimension

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        from models.registry import get_registry

        return get_registry().embeddings().embed(texts)
