"""Test kit for the voice tests: a scripted responder, a far-end-simulating sink, a harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from voice.audio import float_to_pcm16, pcm16_to_float
from voice.clock import ManualClock
from voice.session import VoiceSession


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)


class ScriptedResponder:
    """A real Responder: yields fixed text deltas, sleeping on the session clock between them."""

    def __init__(
        self, deltas: list[str], clock: Any, delay_s: float = 0.05, first_delay_s: float = 0.1
    ) -> None:
        self.deltas = deltas
        self.clock = clock
        self.delay_s = delay_s
        self.first_delay_s = first_delay_s
        self.calls: list[tuple[str, str]] = []
        self.closed_early = False
        self.yield_times: list[float] = []

    async def respond(self, transcript: str, language: str) -> AsyncIterator[str]:
        self.calls.append((transcript, language))
        finished = False
        try:
            await self.clock.sleep(self.first_delay_s)
            for i, delta in enumerate(self.deltas):
                if i:
                    await self.clock.sleep(self.delay_s)
                self.yield_times.append(self.clock.now())
                yield delta
            finished = True
        finally:
            if not finished:
                self.closed_early = True


class FakeSink:
    """AudioSink that records everything and simulates the far end's playback buffer."""

    def __init__(self, clock: ManualClock, sample_rate: int = 16000) -> None:
        self.clock = clock
        self.sample_rate = sample_rate
        self.frames: list[tuple[float, np.ndarray]] = []
        self.marks: list[tuple[float, str]] = []
        self.clears: list[float] = []
        self.events: list[dict[str, Any]] = []
        self.buffer_end = 0.0
        self.pending_marks: list[tuple[float, str]] = []

    async def send_audio(self, pcm16: np.ndarray) -> None:
        now = self.clock.now()
        self.frames.append((now, pcm16.copy()))
        self.buffer_end = max(self.buffer_end, now) + len(pcm16) / self.sample_rate

    async def send_mark(self, name: str) -> None:
        self.marks.append((self.clock.now(), name))
        self.pending_marks.append((self.buffer_end, name))

    async def clear(self) -> None:
        self.clears.append(self.clock.now())
        self.pending_marks.clear()
        self.buffer_end = self.clock.now()

    async def send_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def due_marks(self) -> list[str]:
        now = self.clock.now()
        due = [name for t, name in self.pending_marks if t <= now + 1e-9]
        self.pending_marks = [(t, n) for t, n in self.pending_marks if t > now + 1e-9]
        return due

    def played_audio(self) -> np.ndarray:
        if not self.frames:
            return np.zeros(0, dtype=np.float32)
        return pcm16_to_float(np.concatenate([f for _, f in self.frames]))

    def audio_sent_between(self, start: float, end: float) -> int:
        return sum(len(f) for t, f in self.frames if start <= t < end)


class Harness:
    """Feeds audio in 20 ms steps on a manual clock; model calls complete within a step."""

    def __init__(self, session: VoiceSession, clock: ManualClock, sink: FakeSink) -> None:
        self.session = session
        self.clock = clock
        self.sink = sink
        self.echo_gain = 0.0  # feed back this much of the assistant's audio (echo tests)
        self._echo_pos = 0

    async def step(self, chunk: np.ndarray) -> None:
        if self.echo_gain:
            chunk = chunk + self.echo_gain * self._echo_chunk(len(chunk))
        await self.session.feed_audio(float_to_pcm16(chunk))
        await self.session.settle()
        await self.clock.advance(len(chunk) / 16000)
        for name in self.sink.due_marks():
            await self.session.playback_mark(name)
        await self.session.settle()

    def _echo_chunk(self, n: int) -> np.ndarray:
        played = self.sink.played_audio()
        out = np.zeros(n, dtype=np.float32)
        avail = played[self._echo_pos : self._echo_pos + n]
        out[: len(avail)] = avail
        self._echo_pos += len(avail)
        return out

    async def play(self, audio: np.ndarray, step_ms: int = 20) -> None:
        n = 16000 * step_ms // 1000
        for i in range(0, len(audio), n):
            chunk = audio[i : i + n]
            if len(chunk) < n:
                chunk = np.concatenate([chunk, np.zeros(n - len(chunk), dtype=np.float32)])
            await self.step(chunk)

    async def wait(self, seconds: float) -> None:
        await self.play(silence(seconds))

    async def wait_for_event(self, kind: str, max_seconds: float) -> None:
        """Lets (virtual) time pass until `kind` was emitted, or `max_seconds` went by."""
        for _ in range(int(max_seconds / 0.1)):
            if self.events(kind):
                return
            await self.wait(0.1)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.session.events if e["type"] == kind]
