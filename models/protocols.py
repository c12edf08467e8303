"""The pluggable model roles, as Protocols, so callers never depend on an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Role = Literal["llm", "asr", "tts", "embeddings", "vad"]
FloatAudio = npt.NDArray[np.float32]
PCM16 = npt.NDArray[np.int16]


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class TextGenerator(Protocol):
    """Streams reply tokens. Closing the iterator (``aclose``) stops generation for real."""

    name: str

    def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]: ...


@dataclass(frozen=True)
class TranscriptSegment:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    segments: tuple[TranscriptSegment, ...] = field(default=())


class SpeechRecognizer(Protocol):
    """Transcribes 16 kHz mono float32 audio in [-1, 1]."""

    name: str

    def transcribe(self, audio: FloatAudio, *, language: str | None = None) -> Transcript: ...


class SpeechSynthesizer(Protocol):
    """Synthesises text to PCM16 mono chunks at `sample_rate`, one chunk per sentence or less."""

    name: str
    sample_rate: int

    def synthesize(self, text: str) -> Iterator[PCM16]: ...


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class VoiceActivityModel(Protocol):
    """Speech probability per 512-sample frame at 16 kHz. Stateful: one instance per audio stream."""

    frame_samples: int

    def probability(self, frame: FloatAudio) -> float: ...

    def reset(self) -> None: ...


class VoiceActivityFactory(Protocol):
    """Shares the loaded weights and hands out one stateful detector per stream."""

    name: str

    def new_stream(self) -> VoiceActivityModel: ...
