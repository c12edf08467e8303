"""Sample formats, G.711 μ-law and resampling: the only place audio changes shape.

Everything inside the voice layer is mono. The pipeline works on 16 kHz float32
(what the VAD and Whisper expect); transports speak PCM16 at 16 kHz (app) or
μ-law at 8 kHz (telephony); Piper speaks 22.05 kHz. Resampling always goes
through a Kaiser-windowed polyphase low-pass (the one `scipy.signal.resample_poly`
designs), so a tone above the target Nyquist is removed, not folded back.
"""

from __future__ import annotations

from math import gcd

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin, resample_poly

FloatAudio = npt.NDArray[np.float32]
PCM16 = npt.NDArray[np.int16]

# --- PCM16 <-> float32 -------------------------------------------------------


def pcm16_to_float(pcm: PCM16) -> FloatAudio:
    """int16 -> float32 in [-1, 1)."""
    return (np.asarray(pcm, dtype=np.int16).astype(np.float32)) / 32768.0


def float_to_pcm16(audio: npt.NDArray[np.floating]) -> PCM16:
    """float in [-1, 1] -> int16, clipping instead of wrapping around."""
    scaled = np.clip(np.asarray(audio, dtype=np.float32) * 32768.0, -32768.0, 32767.0)
    return np.round(scaled).astype(np.int16)


def pcm16_from_bytes(data: bytes) -> PCM16:
    """Little-endian PCM16 bytes -> int16 samples. Odd byte counts are a caller error."""
    if len(data) % 2:
        raise ValueError(f"PCM16 frame has an odd byte count ({len(data)})")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def pcm16_to_bytes(pcm: PCM16) -> bytes:
    return np.asarray(pcm, dtype="<i2").tobytes()


# --- G.711 μ-law (table based) -------------------------------------------------

_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _build_mulaw_tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int16]]:
    # Decode table: 256 codes -> linear.
    codes = np.arange(256, dtype=np.int32)
    u = ~codes & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    decode = np.where(sign != 0, -magnitude, magnitude).astype(np.int16)

    # Encode table: every int16 value (indexed by its uint16 bit pattern) -> code.
    values = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    sign_bits = np.where(values < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(values), _MULAW_CLIP) + _MULAW_BIAS
    # exponent = position of the highest set bit among bits 7..14
    exp = np.zeros_like(mag)
    for bit in range(7, 15):
        exp = np.where(mag >= (1 << bit), bit - 7, exp)
    mant = (mag >> (exp + 3)) & 0x0F
    encode = (~(sign_bits | (exp << 4) | mant) & 0xFF).astype(np.uint8)
    return encode, decode


_MULAW_ENCODE, _MULAW_DECODE = _build_mulaw_tables()


def mulaw_encode(pcm: PCM16) -> bytes:
    """PCM16 samples -> G.711 μ-law bytes (one byte per sample)."""
    idx = np.asarray(pcm, dtype=np.int16).view(np.uint16)
    return _MULAW_ENCODE[idx].tobytes()


def mulaw_decode(data: bytes) -> PCM16:
    """G.711 μ-law bytes -> PCM16 samples."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


# --- Resampling ------------------------------------------------------------------


def _ratio(src_rate: int, dst_rate: int) -> tuple[int, int]:
    g = gcd(src_rate, dst_rate)
    return dst_rate // g, src_rate // g


def _design_filter(up: int, down: int) -> npt.NDArray[np.float64]:
    """Same low-pass as `scipy.signal.resample_poly` (Kaiser, beta 5, cut-off at the lower Nyquist)."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    taps: npt.NDArray[np.float64] = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return taps * up


def resample(audio: npt.NDArray[np.floating], src_rate: int, dst_rate: int) -> FloatAudio:
    """Whole-signal resampling (anti-aliased polyphase)."""
    x = np.asarray(audio, dtype=np.float32)
    if src_rate == dst_rate or x.size == 0:
        return x.copy()
    up, down = _ratio(src_rate, dst_rate)
    return np.asarray(resample_poly(x, up, down), dtype=np.float32)


class StreamResampler:
    """Resamples a stream chunk by chunk, keeping the filter history across chunks.

    Chunked `resample_poly` calls would restart the filter at every chunk edge and
    click; this keeps the input tail so that the concatenated output equals one
    long filtering (up to the filter's group delay, `half_len / up` input samples).
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self.up, self.down = _ratio(src_rate, dst_rate)
        self._passthrough = src_rate == dst_rate
        taps = _design_filter(self.up, self.down) if not self._passthrough else np.ones(1)
        self._half = (len(taps) - 1) // 2
        per_phase = -(-len(taps) // self.up)
        padded = np.zeros(per_phase * self.up)
        padded[: len(taps)] = taps
        # _phases[p, i] = taps[p + i*up]: output at upsampled index m uses x[m//up - i].
        self._phases = padded.reshape(per_phase, self.up).T.astype(np.float32)
        self._taps_per_phase = per_phase
        self._history = np.zeros(per_phase, dtype=np.float32)  # zeros before the stream starts
        self._consumed = 0  # input samples seen so far
        self._next_out = 0  # index of the next output sample

    def process(self, chunk: npt.NDArray[np.floating]) -> FloatAudio:
        x = np.asarray(chunk, dtype=np.float32)
        if self._passthrough:
            return x.copy()
        buf = np.concatenate([self._history, x])
        buf_start = self._consumed - len(self._history)  # absolute index of buf[0]
        self._consumed += len(x)
        # Outputs whose newest needed input sample has arrived.
        last = (self._consumed - 1) * self.up - self._half  # largest m - half usable
        n_end = last // self.down + 1 if last >= 0 else 0
        if n_end <= self._next_out:
            self._trim(buf)
            return np.zeros(0, dtype=np.float32)
        n = np.arange(self._next_out, n_end, dtype=np.int64)
        m = n * self.down + self._half
        phase = m % self.up
        base = m // self.up - buf_start
        idx = base[:, None] - np.arange(self._taps_per_phase)[None, :]
        window = np.where(idx >= 0, buf[np.clip(idx, 0, len(buf) - 1)], 0.0)
        out = np.einsum("ij,ij->i", window, self._phases[phase]).astype(np.float32)
        self._next_out = n_end
        self._trim(buf)
        return out

    def _trim(self, buf: FloatAudio) -> None:
        keep = self._taps_per_phase + 1
        self._history = buf[-keep:].copy() if len(buf) >= keep else buf.copy()

    def process_pcm16(self, chunk: PCM16) -> PCM16:
        return float_to_pcm16(self.process(pcm16_to_float(chunk)))


def chunk_samples(rate: int, ms: int) -> int:
    return rate * ms // 1000


def rms_dbfs(audio: npt.NDArray[np.floating]) -> float:
    """Level of float audio in dB relative to full scale (silence -> -120)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(x * x)))
    return 20.0 * np.log10(max(rms, 1e-6))
