"""Model loaders: variants, packaged weights, configuration errors, VAD on real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from careline.errors import ConfigError
from careline.settings import Settings
from models.asr import asr_variant_for, assemble_split_model, load_asr
from models.tts import load_tts, tts_variant_for
from models.vad import load_vad


def test_variants(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert asr_variant_for(s, "en") == "tiny.en"
    assert asr_variant_for(s, "zh") == "base"
    assert asr_variant_for(Settings(data_dir=tmp_path, asr={"model_path": tmp_path}), "en") == "custom"
    assert tts_variant_for(s, "en") == "piper"
    assert tts_variant_for(s, "zh") == "espeak:cmn"
    assert tts_variant_for(s, "fr") == "espeak:fr"
    assert tts_variant_for(Settings(data_dir=tmp_path, tts={"coqui_model_path": tmp_path}), "en") == "coqui"


def test_bad_asr_path_is_a_config_error(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, asr={"model_path": tmp_path / "missing"})
    with pytest.raises(ConfigError) as err:
        load_asr(s, "custom")
    assert err.value.setting == "CARELINE_ASR__MODEL_PATH"


def test_coqui_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    model = tmp_path / "model.pth"
    model.write_bytes(b"x")
    s = Settings(data_dir=tmp_path, tts={"backend": "coqui", "coqui_model_path": model})
    with pytest.raises(ConfigError) as err:
        load_tts(s, "coqui")
    assert "careline[coqui]" in err.value.fix


def test_bad_piper_voice_is_a_config_error(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, tts={"piper_voice": tmp_path / "nope.onnx"})
    with pytest.raises(ConfigError):
        load_tts(s, "piper")


def test_espeak_speaks_chinese(tmp_path: Path) -> None:
    synth, source = load_tts(Settings(data_dir=tmp_path), "espeak:cmn")
    audio = np.concatenate(list(synth.synthesize("你好，请问哪里不舒服？")))
    assert "espeak" in source and synth.sample_rate > 8000
    assert len(audio) > synth.sample_rate * 0.5 and np.abs(audio).max() > 1000


def test_piper_yields_a_chunk_per_sentence(tts) -> None:
    chunks = list(tts.synthesize("Hello there. How are you feeling today?"))
    assert tts.sample_rate == 22050
    assert len(chunks) == 2 and all(c.dtype == np.int16 and len(c) > 2000 for c in chunks)


def test_multilingual_base_is_assembled_once_atomically(tmp_path: Path, jfk) -> None:
    s = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    folder = assemble_split_model(s, "base")
    for name in ("model.bin", "tokenizer.json", "config.json"):
        assert (folder / name).is_file()
    assert [p.name for p in folder.parent.iterdir()] == ["whisper-base"]  # no temp folder left behind
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert assemble_split_model(s, "base") == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime
    asr, source = load_asr(s, "base")
    assert "base" in source
    assert "fellow americans" in asr.transcribe(jfk[: 16000 * 4], language="en").text.lower()


def test_vad_finds_speech_in_jfk_with_silence_padding(vad, jfk) -> None:
    stream = vad.new_stream()
    pad = np.zeros(16000, dtype=np.float32)
    audio = np.concatenate([pad, jfk, pad])
    probs = np.array([stream.probability(audio[i : i + 512]) for i in range(0, len(audio) - 511, 512)])
    speech = np.nonzero(probs >= 0.5)[0]
    frame_s = 512 / 16000
    assert speech[0] * frame_s >= 1.0  # nothing in the leading second of silence
    assert speech[-1] * frame_s <= 1.0 + len(jfk) / 16000
    assert probs[: int(0.9 / frame_s)].max() < 0.2
    assert (probs >= 0.5).mean() > 0.4
    # streams keep their own state: interleaving two streams changes neither
    a, b = vad.new_stream(), vad.new_stream()
    interleaved = []
    for i in range(0, 512 * 80, 512):
        interleaved.append(a.probability(audio[i : i + 512]))
        b.probability(np.zeros(512, dtype=np.float32))
    assert np.allclose(interleaved, probs[:80], atol=1e-5)
    with pytest.raises(ValueError):
        stream.probability(np.zeros(100, dtype=np.float32))


def test_load_vad_reports_its_source(tmp_path: Path) -> None:
    factory, source = load_vad(Settings(data_dir=tmp_path))
    assert source.endswith(".onnx") and factory.new_stream().frame_samples == 512
