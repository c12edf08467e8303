"""Session-scoped real models and audio for the voice tests, plus a scripted harness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from voice_testkit import FakeSink, Harness, ScriptedResponder

from careline.paths import SHARED_DATA
from careline.settings import Settings
from models.registry import ModelRegistry
from voice.audio import pcm16_to_float, resample
from voice.clock import ManualClock
from voice.session import VoiceConfig, VoiceSession

AUDIO_DIR = SHARED_DATA / "audio"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def load_audio_16k(path: Path) -> np.ndarray:
    try:
        import soundfile

        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return resample(data.mean(axis=1), rate, 16000)
    except Exception:
        from faster_whisper import decode_audio

        return np.asarray(decode_audio(str(path), sampling_rate=16000), dtype=np.float32)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("careline")
    return Settings(data_dir=base / "data", cache_dir=Path(".cache/careline").resolve())


@pytest.fixture(scope="session")
def registry(settings: Settings) -> ModelRegistry:
    return ModelRegistry(settings)


@pytest.fixture(scope="session")
def asr(registry: ModelRegistry) -> Any:
    return registry.asr("en")


@pytest.fixture(scope="session")
def tts(registry: ModelRegistry) -> Any:
    return registry.tts("en")


@pytest.fixture(scope="session")
def vad(registry: ModelRegistry) -> Any:
    return registry.vad()


@pytest.fixture(scope="session")
def jfk() -> np.ndarray:
    return load_audio_16k(AUDIO_DIR / "jfk.flac")


@pytest.fixture(scope="session")
def say(tts: Any) -> Any:
    """Piper-synthesised speech at 16 kHz float, cached per text."""
    cache: dict[str, np.ndarray] = {}

    from piper import SynthesisConfig

    deterministic = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # VITS samples noise otherwise

    def _say(text: str) -> np.ndarray:
        if text not in cache:
            chunks = tts._voice.synthesize(text, syn_config=deterministic)
            pcm = np.concatenate([np.asarray(c.audio_int16_array, dtype=np.int16) for c in chunks])
            cache[text] = resample(pcm16_to_float(pcm), tts.sample_rate, 16000) * 0.6
        return cache[text]

    return _say


@pytest.fixture
def make_harness(asr: Any, tts: Any, vad: Any) -> Any:
    created: list[VoiceSession] = []

    def _make(
        deltas: list[str], *, config: VoiceConfig | None = None, endpointing: Any = None, **kwargs: Any
    ) -> tuple[Harness, Any]:
        clock = ManualClock()
        sink = FakeSink(clock)
        responder = ScriptedResponder(deltas, clock, **kwargs)
        session = VoiceSession(
            asr=asr,
            tts=tts,
            vad=vad,
            responder=responder,
            sink=sink,
            config=config or VoiceConfig(),
            clock=clock,
            endpointing=endpointing,
        )
        created.append(session)
        return Harness(session, clock, sink), responder

    return _make
