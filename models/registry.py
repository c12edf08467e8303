"""Resolves each model role to a loaded model, once per process, thread-safely.

Loaders live in one module per role (`models.llm`, `models.asr`, `models.tts`,
`models.embeddings`, `models.vad`); this class only decides *when* to call them
and makes sure each (role, variant) is loaded exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from careline.settings import Settings, get_settings
from models.protocols import (
    Embedder,
    SpeechRecognizer,
    SpeechSynthesizer,
    TextGenerator,
    VoiceActivityFactory,
)

T = TypeVar("T")


@dataclass(frozen=True)
class LoadRecord:
    """What a role resolved to, for `careline models check` and /readyz."""

    role: str
    variant: str
    source: str
    load_seconds: float


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._role_locks: dict[tuple[str, str], threading.Lock] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self.records: dict[tuple[str, str], LoadRecord] = {}

    def _get(self, role: str, variant: str, load: Callable[[], tuple[T, str]]) -> T:
        key = (role, variant)
        if key in self._loaded:
            return cast(T, self._loaded[key])
        with self._lock:
            role_lock = self._role_locks.setdefault(key, threading.Lock())
        with role_lock:
            if key not in self._loaded:
                started = time.perf_counter()
                model, source = load()
                self.records[key] = LoadRecord(role, variant, source, time.perf_counter() - started)
                self._loaded[key] = model
        return cast(T, self._loaded[key])

    def is_loaded(self, role: str, variant: str = "default") -> bool:
        return (role, variant) in self._loaded

    def llm(self) -> TextGenerator:
        from models.llm import load_llm

        return self._get("llm", "default", lambda: load_llm(self.settings))

    def embeddings(self) -> Embedder:
        from models.embeddings import load_embedder

        return self._get("embeddings", "default", lambda: load_embedder(self.settings))

    def asr(self, language: str = "en") -> SpeechRecognizer:
        from models.asr import asr_variant_for, load_asr

        variant = asr_variant_for(self.settings, language)
        return self._get("asr", variant, lambda: load_asr(self.settings, variant))

    def tts(self, language: str = "en") -> SpeechSynthesizer:
        from models.tts import load_tts, tts_variant_for

        variant = tts_variant_for(self.settings, language)
        return self._get("tts", variant, lambda: load_tts(self.settings, variant))

    def vad(self) -> VoiceActivityFactory:
        from models.vad import load_vad

        return self._get("vad", "default", lambda: load_vad(self.settings))


_registry: ModelRegistry | None = None
_registry_lock = threading.Lock()


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """The process-wide registry (built from `get_settings()` on first use)."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = ModelRegistry(settings or get_settings())
        return _registry


def resolve_device(settings: Settings) -> str:
    """cpu, or cuda when asked for (``cuda``) or allowed (``auto``) and present."""
    if settings.device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if settings.device == "cuda":
        from careline.errors import ConfigError

        raise ConfigError(
            "CARELINE_DEVICE", "cuda was asked for but no CUDA device is present", "set it to cpu or auto"
        )
    return "cpu"
