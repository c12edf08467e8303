"""Voice activity: the Silero VAD ONNX model that ships inside faster-whisper.

One `InferenceSession` is shared by every stream; each `new_stream()` gets its own
recurrent state (h, c) and 64-sample context, so sessions never disturb each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from careline.errors import ConfigError
from careline.settings import Settings
from models.protocols import FloatAudio, VoiceActivityFactory

FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
SAMPLE_RATE = 16000


def silero_model_path() -> Path:
    """The newest `silero_vad*.onnx` inside the installed faster-whisper."""
    try:
        from faster_whisper.utils import get_assets_path
    except ImportError as exc:  # pragma: no cover - faster-whisper is a core dependency
        raise ConfigError("vad", "faster-whisper is not installed", "pip install faster-whisper") from exc
    found = sorted(Path(get_assets_path()).glob("silero_vad*.onnx"))
    if not found:
        raise ConfigError("vad", "no silero_vad*.onnx in faster_whisper/assets", "reinstall faster-whisper")
    return found[-1]


class SileroStream:
    """Stateful per-stream detector (VoiceActivityModel)."""

    frame_samples = FRAME_SAMPLES

    def __init__(self, session: Any) -> None:
        self._session = session  # InferenceSession.run is thread-safe
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, frame: FloatAudio) -> float:
        x = np.asarray(frame, dtype=np.float32).reshape(-1)
        if x.shape[0] != FRAME_SAMPLES:
            raise ValueError(f"VAD frames are {FRAME_SAMPLES} samples at 16 kHz, got {x.shape[0]}")
        batch = np.concatenate([self._context, x])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = x[-CONTEXT_SAMPLES:].copy()
        return float(np.asarray(out).reshape(-1)[0])


class SileroVAD:
    """Factory sharing one ONNX session (VoiceActivityFactory)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.name = f"silero:{path.name}"

    def new_stream(self) -> SileroStream:
        return SileroStream(self._session)


def load_vad(settings: Settings) -> tuple[VoiceActivityFactory, str]:
    path = silero_model_path()
    return SileroVAD(path), str(path)
