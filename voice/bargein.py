"""Barge-in: when patient speech during the assistant's turn should interrupt it.

Each concern is a small rule with one job; `BargeInPolicy` asks them in order and
the first one with an opinion decides:

1. `EchoRule`          audio that correlates with what we just played, or a
                       transcript that repeats the words being spoken, is our own echo.
2. `StopWordRule`      "stop", "wait", "hold on", "等一下" interrupt at once.
3. `MinSpeechRule`     under 180 ms of speech is not enough to act on.
4. `BackchannelRule`   "mhm", "yeah", "ok", "嗯", "对" are listening noises, not turns.
5. `ContentRule`       real words interrupt; long speech that transcribes to nothing does too.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.signal import fftconvolve

from voice.audio import resample


class Verdict(StrEnum):
    INTERRUPT = "interrupt"
    IGNORE = "ignore"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class BargeInContext:
    speech_ms: float
    transcript: str | None  # None while no transcript of this speech exists yet
    echo_score: float  # 0..1 similarity with recently played audio
    speaking_text: str  # what the assistant is saying (recent sentences)
    complete: bool = False  # the speech has ended: the transcript covers all of it


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


class BargeInRule(Protocol):
    def judge(self, ctx: BargeInContext) -> Decision | None: ...


def words_of(text: str) -> list[str]:
    """Lower-case words; each CJK character counts as a word."""
    return re.findall(r"[a-z0-9']+|[\u4e00-\u9fff]", text.lower())


STOP_PHRASES = (
    "stop", "wait", "hold on", "hang on", "pause", "one moment", "one second",
    "等一下", "等等", "停", "别说了",
)  # fmt: skip
BACKCHANNELS = frozenset(
    [
        "mhm",
        "mm",
        "mmm",
        "hmm",
        "hm",
        "uh-huh",
        "uh",
        "huh",
        "uhhuh",
        "yeah",
        "yea",
        "yep",
        "yes",
        "ok",
        "okay",
        "right",
        "sure",
        "alright",
        "i",
        "see",
        "got",
        "it",
        "cool",
        "great",
        "fine",
        "thanks",
        "thank",
        "you",
        "oh",
        "ah",
        "aha",
        "嗯",
        "对",
        "好",
        "是",
        "哦",
        "啊",
        "行",
        "对的",
        "好的",
        "是的",
        "嗯嗯",
    ]
)


@dataclass(frozen=True)
class StopWordRule:
    phrases: tuple[str, ...] = STOP_PHRASES

    def judge(self, ctx: BargeInContext) -> Decision | None:
        if not ctx.transcript:
            return None
        text = ctx.transcript.lower()
        for phrase in self.phrases:
            if phrase.isascii():
                if re.search(rf"\b{re.escape(phrase)}\b", text):
                    return Decision(Verdict.INTERRUPT, f"stop word '{phrase}'")
            elif phrase in text:
                return Decision(Verdict.INTERRUPT, f"stop word '{phrase}'")
        return None


@dataclass(frozen=True)
class EchoRule:
    """Acoustic echo (correlation with played audio) or textual echo (our own words back)."""

    correlation_threshold: float = 0.5
    word_overlap_threshold: float = 0.6

    def judge(self, ctx: BargeInContext) -> Decision | None:
        if ctx.echo_score >= self.correlation_threshold:
            return Decision(Verdict.IGNORE, f"echo (correlation {ctx.echo_score:.2f})")
        if ctx.transcript and ctx.speaking_text:
            heard = words_of(ctx.transcript)
            spoken = set(words_of(ctx.speaking_text))
            if (
                len(heard) >= 2
                and sum(w in spoken for w in heard) / len(heard) >= self.word_overlap_threshold
            ):
                return Decision(Verdict.IGNORE, "echo (transcript repeats the assistant)")
        return None


@dataclass(frozen=True)
class MinSpeechRule:
    min_speech_ms: float = 180.0  # 6 VAD frames of 32 ms: the pause lands under 300 ms from onset

    def judge(self, ctx: BargeInContext) -> Decision | None:
        if ctx.speech_ms < self.min_speech_ms:
            return Decision(Verdict.UNDECIDED, "too short")
        return None


_HUM = re.compile(r"^(?:[mhn]*[mh][mhn]*|u+h+|a+h+|o+h+|e+r+m*|u+m+)$")  # mhm, mm, hm, uh, ah, oh, erm, um


@dataclass(frozen=True)
class BackchannelRule:
    backchannels: frozenset[str] = BACKCHANNELS

    def judge(self, ctx: BargeInContext) -> Decision | None:
        if ctx.transcript is None:
            return None
        text = ctx.transcript.lower()
        text = re.sub(
            r"\b([a-z])(?:[-. ]([a-z]))+\b",
            lambda m: m.group(0).replace("-", "").replace(".", "").replace(" ", ""),
            text,
        )
        text = re.sub(r"[^\w\s'\-\u4e00-\u9fff]", " ", text).strip()
        if not text:
            return None
        if text in self.backchannels:
            return Decision(Verdict.IGNORE, "backchannel")
        tokens = text.split() if text.isascii() else words_of(text)
        if all(t in self.backchannels or _HUM.match(t.replace("-", "")) for t in tokens):
            return Decision(Verdict.IGNORE, "backchannel")
        return None


@dataclass(frozen=True)
class ContentRule:
    """Words that are not a backchannel interrupt; without a transcript only long speech does."""

    max_undecided_ms: float = 1200.0
    min_content_ms: float = (
        700.0  # tiny.en guesses wildly on shorter unfinished speech ("mhm" -> "and make it")
    )

    def judge(self, ctx: BargeInContext) -> Decision | None:
        if ctx.transcript and words_of(ctx.transcript):
            if ctx.complete or ctx.speech_ms >= self.min_content_ms:
                return Decision(Verdict.INTERRUPT, "patient speech")
            return Decision(Verdict.UNDECIDED, "tentative words")
        if ctx.transcript is None:  # audio alone never interrupts: let the words (or echo text) decide
            return Decision(Verdict.UNDECIDED, "waiting for words")
        if ctx.speech_ms >= self.max_undecided_ms:  # long speech that Whisper cannot make out
            return Decision(Verdict.INTERRUPT, "sustained speech")
        return Decision(Verdict.UNDECIDED, "waiting for words")


@dataclass
class BargeInPolicy:
    rules: list[BargeInRule] = field(
        default_factory=lambda: [
            EchoRule(),
            StopWordRule(),
            MinSpeechRule(),
            BackchannelRule(),
            ContentRule(),
        ]
    )

    def decide(self, ctx: BargeInContext) -> Decision:
        for rule in self.rules:
            decision = rule.judge(ctx)
            if decision is not None:
                return decision
        return Decision(Verdict.UNDECIDED, "no rule")

    @property
    def min_speech_ms(self) -> float:
        for rule in self.rules:
            if isinstance(rule, MinSpeechRule):
                return rule.min_speech_ms
        return 200.0


class EchoReference:
    """The last few seconds of audio we played, at 8 kHz, to recognise it coming back.

    Correlation is computed at 8 kHz (telephone band) so that an echo which went
    through μ-law and the phone network still matches; the best normalised
    cross-correlation over every lag in the window is the echo score.
    """

    RATE = 8000

    def __init__(self, seconds: float = 8.0) -> None:
        self._chunks: deque[npt.NDArray[np.float32]] = deque()
        self._total = 0
        self._max = int(seconds * self.RATE)

    def add(self, audio_8k: npt.NDArray[np.float32]) -> None:
        self._chunks.append(np.asarray(audio_8k, dtype=np.float32))
        self._total += len(audio_8k)
        while self._chunks and self._total - len(self._chunks[0]) >= self._max:
            self._total -= len(self._chunks.popleft())

    def clear(self) -> None:
        self._chunks.clear()
        self._total = 0

    def similarity(self, incoming_16k: npt.NDArray[np.float32], max_seconds: float = 1.0) -> float:
        if not self._chunks:
            return 0.0
        x = resample(incoming_16k[-int(max_seconds * 16000) :], 16000, self.RATE).astype(np.float64)
        if len(x) < 400:
            return 0.0
        # Silence before the first played sample, so that speech that began before playback still aligns.
        ref = np.concatenate([np.zeros(len(x)), *self._chunks]).astype(np.float64)
        x = x - x.mean()
        x_norm = np.sqrt(np.sum(x * x))
        if x_norm < 1e-4:
            return 0.0
        num = fftconvolve(ref, x[::-1], mode="valid")
        energy = np.concatenate([[0.0], np.cumsum(ref * ref)])
        window = np.sqrt(np.maximum(energy[len(x) :] - energy[: -len(x)], 1e-12))
        score = num / (window * x_norm)
        return float(np.clip(np.max(score), 0.0, 1.0))
