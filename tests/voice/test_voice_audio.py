"""Sample formats, μ-law and resampling quality."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from voice.audio import (
    StreamResampler,
    float_to_pcm16,
    mulaw_decode,
    mulaw_encode,
    pcm16_from_bytes,
    pcm16_to_bytes,
    pcm16_to_float,
    resample,
)


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def level_db(x: np.ndarray) -> float:
    return 20 * np.log10(max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-9))


def test_pcm16_float_round_trip_and_clipping() -> None:
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    assert np.array_equal(float_to_pcm16(pcm16_to_float(pcm)), pcm)
    assert float_to_pcm16(np.array([2.0, -2.0])).tolist() == [32767, -32768]
    assert np.array_equal(pcm16_from_bytes(pcm16_to_bytes(pcm)), pcm)
    with pytest.raises(ValueError, match="odd"):
        pcm16_from_bytes(b"\x00\x01\x02")


def test_mulaw_round_trip_error_is_bounded() -> None:
    pcm = float_to_pcm16(tone(440, 8000, 0.5, 0.8))
    encoded = mulaw_encode(pcm)
    assert len(encoded) == len(pcm)
    decoded = mulaw_decode(encoded)
    err = np.abs(decoded.astype(np.int32) - pcm.astype(np.int32))
    # μ-law step is ~1/16 of the segment: relative error stays under ~6 %, small values exact-ish
    assert np.all(err <= np.maximum(np.abs(pcm.astype(np.int32)) * 0.07, 8))
    snr = 10 * np.log10(np.sum(pcm.astype(np.float64) ** 2) / np.sum(err.astype(np.float64) ** 2))
    assert snr > 30


def test_mulaw_known_codes() -> None:
    # G.711: 0 -> 0xFF, max positive -> 0x80, max negative -> 0x00; decoding is the inverse.
    assert mulaw_encode(np.array([0, 32767, -32768], dtype=np.int16)) == bytes([0xFF, 0x80, 0x00])
    assert mulaw_decode(bytes([0xFF, 0x80, 0x00])).tolist() == [0, 32124, -32124]
    codes = bytes(range(256))
    assert mulaw_encode(mulaw_decode(codes)) == bytes(c if c != 0x7F else 0xFF for c in codes)


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 16000), (22050, 8000)])
def test_resampling_keeps_the_frequency(src: int, dst: int) -> None:
    out = resample(tone(440, src), src, dst)
    assert abs(len(out) - dst) <= 1
    assert peak_frequency(out, dst) == pytest.approx(440, abs=3)


def test_no_aliasing_of_a_tone_above_the_target_nyquist() -> None:
    x = tone(5000, 16000)  # above 4 kHz: must vanish at 8 kHz, not fold to 3 kHz
    out = resample(x, 16000, 8000)
    assert level_db(out) < level_db(x) - 40
    naive = x[::2]  # decimation without a filter aliases it at full level
    assert level_db(naive) > level_db(x) - 1


@pytest.mark.parametrize(
    ("src", "dst", "chunk"), [(8000, 16000, 160), (22050, 16000, 1000), (16000, 8000, 333)]
)
def test_streaming_resampler_matches_one_shot(src: int, dst: int, chunk: int) -> None:
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal(src)).astype(np.float32)
    stream = StreamResampler(src, dst)
    out = np.concatenate([stream.process(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    ref = resample_poly(x, stream.up, stream.down)
    n = min(len(out), len(ref)) - 64  # the stream holds back the filter's look-ahead
    assert n > dst * 0.9
    assert np.max(np.abs(out[:n] - ref[:n])) < 1e-3


def test_streaming_resampler_8k_to_16k_tone_is_clean_across_chunks() -> None:
    x = tone(1000, 8000)
    stream = StreamResampler(8000, 16000)
    out = np.concatenate([stream.process(x[i : i + 160]) for i in range(0, len(x), 160)])
    assert peak_frequency(out[400:], 16000) == pytest.approx(1000, abs=3)
    # no clicks at chunk edges: the second difference stays as smooth as a 1 kHz sine allows
    d2 = np.abs(np.diff(out[400:-400], 2))
    assert d2.max() < 0.5 * (2 * np.pi * 1000 / 16000) ** 2 * 1.5
