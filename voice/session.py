"""`VoiceSession`: one call's audio pipeline, transport-agnostic and dialogue-agnostic.

    audio in (16 kHz PCM16) -> Silero VAD -> endpointing -> Whisper (partials, final)
        -> Responder (text deltas) -> sentence splitter -> TTS -> pacer -> AudioSink

All decisions about speech (start, end of turn, barge-in checkpoints) count audio
frames, never wall time, so a test can feed audio faster than real time and get
the same result. Model calls run in worker threads; at most one transcription per
session is in flight (newer requests replace older pending ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from models.protocols import (
    PCM16,
    FloatAudio,
    SpeechRecognizer,
    SpeechSynthesizer,
    VoiceActivityFactory,
)
from voice import metrics
from voice.audio import StreamResampler, float_to_pcm16, pcm16_to_float
from voice.bargein import BargeInContext, BargeInPolicy, Decision, EchoReference, Verdict
from voice.clock import Clock, MonotonicClock
from voice.endpointing import AdaptiveEndpoint, EndpointPolicy
from voice.playback import PlaybackLedger
from voice.sentences import SentenceSplitter

log = logging.getLogger(__name__)
T = TypeVar("T")

INPUT_RATE = 16000
FRAME = 512  # Silero frame: 32 ms at 16 kHz
FRAME_MS = FRAME * 1000 / INPUT_RATE


class Responder(Protocol):
    """The dialogue side: yields the reply as text deltas. Implemented by the assistant.

    Write it as an async generator: ``async def respond(self, transcript, language): yield ...``.
    The session cancels the task iterating it on barge-in and closes the generator.
    """

    def respond(self, transcript: str, language: str) -> AsyncIterator[str]: ...


class AudioSink(Protocol):
    """The transport's outbound side. `sample_rate` is what `send_audio` expects (PCM16 mono)."""

    sample_rate: int

    async def send_audio(self, pcm16: PCM16) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None: ...

    async def send_event(self, event: dict[str, Any]) -> None: ...


@dataclass
class VoiceConfig:
    """Tunables of one session; the defaults are the documented ones (docs/voice.md)."""

    language: str = "en"
    vad_threshold: float = 0.5
    vad_hangover: float = 0.15  # once in speech, stay until prob < threshold - hangover
    start_frames: int = 2  # consecutive speech frames that start a segment (64 ms)
    preroll_ms: int = 320
    min_turn_speech_ms: int = 200  # shorter segments are noise, not a turn
    partial_every_ms: int = 600  # new speech between partial transcripts
    speculative_after_ms: int = 150  # silence before the final transcription starts early
    max_turn_s: float = 30.0
    chunk_ms: int = 20  # outbound frame size
    lead_ms: int = 150  # how far ahead of real time audio is sent
    mark_every_ms: int = 400  # playback marks inside a sentence
    barge_check_every_ms: int = 250  # re-evaluate barge-in every this much more speech
    barge_end_silence_ms: int = 350  # silence that ends a non-interrupting segment
    playback_acks: bool = True  # the far end confirms marks; else playback is estimated by time


@dataclass
class TurnRecord:
    """One assistant turn as the conversation history should keep it."""

    index: int
    user_text: str
    assistant_text: str = ""
    text_heard: str = ""
    interrupted: bool = False
    latency_ms: dict[str, float | None] = field(default_factory=dict)


@dataclass
class _Segment:
    """A stretch of detected speech (plus pre-roll), a candidate patient turn."""

    frames: list[FloatAudio]
    speech_frames: int
    barge: bool  # began while the assistant was talking
    onset_wall: float
    silence_frames: int = 0
    last_speech_wall: float = 0.0
    latest_text: str = ""
    partial_at: int = 0  # frames count at the last partial request
    spec_at: int | None = None  # frames count of the speculative final request
    spec_text: str | None = None
    spec_seconds: float = 0.0
    next_check_speech: float = 0.0
    barge_busy: bool = False
    final_checked: bool = False
    forced: bool = False  # reached max_turn_s
    last_speech_index: int = 0  # len(frames) at the last speech frame
    paused: bool = False
    interrupted: bool = False
    ignored_reason: str = ""

    @property
    def audio(self) -> FloatAudio:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, dtype=np.float32)

    @property
    def speech_ms(self) -> float:
        return self.speech_frames * FRAME_MS

    @property
    def silence_ms(self) -> float:
        return self.silence_frames * FRAME_MS


class _Reply:
    """The running assistant turn: its task, ledger, pacing state and latency stamps."""

    def __init__(self, record: TurnRecord, sample_rate: int, chunk: int) -> None:
        self.record = record
        self.ledger = PlaybackLedger(sample_rate)
        self.task: asyncio.Task[None] | None = None
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.chunk = chunk
        self.sentences: list[str] = []
        self.done_sending = False
        self.stamps: dict[str, float] = {}
        self.play_start: float | None = None
        self.sent_s = 0.0


class VoiceSession:
    def __init__(
        self,
        *,
        asr: SpeechRecognizer,
        tts: SpeechSynthesizer,
        vad: VoiceActivityFactory,
        responder: Responder,
        sink: AudioSink,
        config: VoiceConfig | None = None,
        endpointing: EndpointPolicy | None = None,
        barge_in: BargeInPolicy | None = None,
        clock: Clock | None = None,
        on_event: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.asr = asr
        self.tts = tts
        self.vad = vad.new_stream()
        self.responder = responder
        self.sink = sink
        self.config = config or VoiceConfig()
        self.endpointing: EndpointPolicy = endpointing or AdaptiveEndpoint()
        self.barge_in = barge_in or BargeInPolicy()
        self.clock: Clock = clock or MonotonicClock()
        self.on_event = on_event
        self.turns: list[TurnRecord] = []
        self.events: list[dict[str, Any]] = []
        self.closed = False

        self._inbuf = np.zeros(0, dtype=np.float32)
        self._frames_in = 0
        self._in_speech = False
        self._start_run = 0
        self._preroll: deque[FloatAudio] = deque(maxlen=max(1, int(self.config.preroll_ms / FRAME_MS)))
        self._segment: _Segment | None = None
        self._reply: _Reply | None = None
        self._turn_index = 0
        self._echo = EchoReference()
        self._echo_down = StreamResampler(sink.sample_rate, EchoReference.RATE)
        self._chunk = sink.sample_rate * self.config.chunk_ms // 1000

        self._asr_busy = False
        self._asr_next: tuple[str, _Segment, int] | None = None
        self._asr_last_seconds = 0.0
        self._asr_idle_since = self.clock.now()
        self._jobs: set[asyncio.Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        metrics.SESSIONS_ACTIVE.inc()

    # ------------------------------------------------------------------ public API

    @property
    def language(self) -> str:
        return self.config.language

    @property
    def assistant_active(self) -> bool:
        return self._reply is not None

    async def feed_audio(self, pcm16: PCM16) -> None:
        """Inbound audio: 16 kHz mono PCM16, any chunk size."""
        if self.closed:
            return
        x = pcm16_to_float(pcm16)
        self._inbuf = np.concatenate([self._inbuf, x]) if self._inbuf.size else x
        while self._inbuf.size >= FRAME:
            frame, self._inbuf = self._inbuf[:FRAME], self._inbuf[FRAME:]
            await self._on_frame(frame)

    async def playback_mark(self, name: str) -> None:
        """The far end played everything sent before mark `name` (Twilio mark / app ack)."""
        reply = self._reply
        if reply is not None:
            reply.ledger.confirm(name)

    async def interrupt(self, reason: str = "requested") -> None:
        """Stop the assistant now (used by barge-in, and available to the transport, e.g. DTMF)."""
        await self._interrupt(reason, onset_wall=None)

    async def say(self, text: str) -> None:
        """Speaks `text` unprompted (a phone greeting, an outbound check-in); barge-in applies as usual."""
        if self.closed or self._reply is not None or not text.strip():
            return
        self._turn_index += 1
        record = TurnRecord(index=self._turn_index, user_text="")
        self.turns.append(record)
        reply = _Reply(record, self.sink.sample_rate, self._chunk)
        self._reply = reply
        self._echo.clear()
        reply.task = asyncio.ensure_future(self._run_reply(reply, text, scripted=True))

    async def notify(self, event: dict[str, Any]) -> None:
        """Passes a transport event (e.g. DTMF) to the listeners, like the session's own events."""
        await self._emit(event)

    async def settle(self) -> None:
        """Wait until no model call is in flight and the event loop is quiet (tests, benches)."""
        for _ in range(1000):
            if self._jobs:
                await asyncio.gather(*list(self._jobs), return_exceptions=True)
            for _ in range(8):
                await asyncio.sleep(0)
            if not self._jobs:
                return

    async def wait_reply_done(self) -> None:
        reply = self._reply
        if reply is not None and reply.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(reply.task)

    async def close(self) -> None:
        """End of call (also on disconnect mid-utterance): cancel everything, keep the records."""
        if self.closed:
            return
        self.closed = True
        if self._reply is not None:
            reply = self._reply
            if not reply.done_sending:
                played = self._played_samples(reply)
                reply.ledger.closed = True
                reply.record.text_heard = reply.ledger.heard_text(played)
                reply.record.interrupted = True
            await self._cancel_reply()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)
        metrics.SESSIONS_ACTIVE.dec()

    # ------------------------------------------------------------------ events

    async def _emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.on_event is not None:
            result = self.on_event(event)
            if asyncio.iscoroutine(result):
                await result
        with contextlib.suppress(Exception):
            await self.sink.send_event(event)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        self._jobs.add(fut)
        try:
            return await fut
        finally:
            self._jobs.discard(fut)

    # ------------------------------------------------------------------ VAD + segments

    async def _on_frame(self, frame: FloatAudio) -> None:
        cfg = self.config
        self._frames_in += 1
        prob = self.vad.probability(frame)
        seg = self._segment
        if seg is None:
            self._preroll.append(frame)
            self._start_run = self._start_run + 1 if prob >= cfg.vad_threshold else 0
            if self._start_run >= cfg.start_frames:
                now = self.clock.now()
                onset = now - (self._start_run - 1) * FRAME_MS / 1000
                barge = self._reply is not None
                seg = _Segment(
                    frames=list(self._preroll),
                    speech_frames=self._start_run,
                    barge=barge,
                    onset_wall=onset,
                    last_speech_wall=now,
                    next_check_speech=self.barge_in.min_speech_ms,
                )
                self._segment = seg
                self._preroll.clear()
                self._start_run = 0
                await self._emit({"type": "speech_started", "during_assistant": barge})
            return

        seg.frames.append(frame)
        if prob >= cfg.vad_threshold - cfg.vad_hangover:
            if seg.silence_frames and seg.spec_at is not None and not seg.forced:
                seg.spec_at, seg.spec_text = None, None  # speech resumed: the early final is stale
            seg.silence_frames = 0
            seg.speech_frames += 1
            seg.last_speech_wall = self.clock.now()
            seg.last_speech_index = len(seg.frames)
        else:
            seg.silence_frames += 1

        if seg.barge and not seg.interrupted:
            await self._barge_step(seg)
        else:
            await self._turn_step(seg)

    def _drop_segment(self, seg: _Segment) -> None:
        if self._segment is seg:
            self._segment = None
            self._preroll.clear()

    # ------------------------------------------------------------------ ASR worker

    def _request_asr(self, kind: str, seg: _Segment) -> None:
        request = (kind, seg, len(seg.frames))
        if self._asr_busy:
            self._asr_next = request
            return
        self._asr_busy = True
        self._spawn(self._asr_loop(request))

    async def _asr_loop(self, request: tuple[str, _Segment, int]) -> None:
        current: tuple[str, _Segment, int] | None = request
        try:
            while current is not None and not self.closed:
                kind, seg, n_frames = current
                audio = np.concatenate(seg.frames[:n_frames])
                started = self.clock.now()
                try:
                    result = await self._in_thread(
                        lambda a=audio: self.asr.transcribe(a, language=self.language)
                    )
                except Exception:  # a failed decode must not end the call
                    log.exception("transcription failed")
                    result = None
                seconds = self.clock.now() - started
                self._asr_last_seconds = seconds
                self._asr_idle_since = self.clock.now()
                metrics.ASR_SECONDS.labels(kind).observe(seconds)
                if result is not None:
                    await self._on_transcript(kind, seg, n_frames, result.text.strip(), seconds)
                current, self._asr_next = self._asr_next, None
        finally:
            self._asr_busy = False

    async def _on_transcript(
        self, kind: str, seg: _Segment, n_frames: int, text: str, seconds: float
    ) -> None:
        if self._segment is not seg:
            return
        if kind == "barge":
            seg.barge_busy = False
            if text:
                seg.latest_text = text
            await self._barge_decide(seg, text, n_frames)
            return
        if kind == "final":
            if seg.spec_at == n_frames:
                seg.spec_text = text
                seg.spec_seconds = seconds
                if text:
                    seg.latest_text = text
                await self._maybe_end_turn(seg)
            return
        if text and text != seg.latest_text:
            seg.latest_text = text
            await self._emit({"type": "partial_transcript", "text": text})

    # ------------------------------------------------------------------ listening (turn) mode

    async def _turn_step(self, seg: _Segment) -> None:
        cfg = self.config
        frames_per_partial = int(cfg.partial_every_ms / FRAME_MS)
        if seg.silence_frames == 0 and len(seg.frames) - seg.partial_at >= frames_per_partial:
            seg.partial_at = len(seg.frames)
            # Keep the recogniser at most half busy with partials, so that the final transcription
            # at the end of speech rarely waits behind one (matters on a loaded CPU).
            rested = self.clock.now() - self._asr_idle_since >= self._asr_last_seconds
            if not self._asr_busy and rested:
                self._request_asr("partial", seg)
        if seg.silence_ms >= cfg.speculative_after_ms and seg.spec_at is None:
            if seg.speech_ms < cfg.min_turn_speech_ms:
                self._drop_segment(seg)  # a click or a cough: not a turn
                return
            seg.spec_at = len(seg.frames)
            self._request_asr("final", seg)
        if len(seg.frames) * FRAME_MS >= cfg.max_turn_s * 1000 and not seg.forced:
            seg.forced = True  # a monologue: end the turn once this transcription is back
            seg.spec_at = len(seg.frames)
            seg.spec_text = None
            self._request_asr("final", seg)
        await self._maybe_end_turn(seg)

    async def _maybe_end_turn(self, seg: _Segment) -> None:
        if seg.spec_text is None or self._segment is not seg:
            return
        needed = self.endpointing.silence_needed_ms(seg.spec_text)
        if seg.silence_ms < needed and not seg.forced:
            return
        self._drop_segment(seg)
        await self._end_turn(seg, seg.spec_text)

    async def _end_turn(self, seg: _Segment, text: str) -> None:
        now = self.clock.now()
        metrics.TURNS.inc()
        if not text:
            await self._emit({"type": "final_transcript", "text": "", "empty": True})
            return
        if self._reply is not None:  # a turn that interrupted the assistant: it is over by now
            await self._cancel_reply()
        self._turn_index += 1
        record = TurnRecord(index=self._turn_index, user_text=text)
        self.turns.append(record)
        reply = _Reply(record, self.sink.sample_rate, self._chunk)
        reply.stamps = {"speech_end": seg.last_speech_wall, "endpoint": now, "final_transcript": now}
        reply.stamps["asr_seconds"] = seg.spec_seconds
        await self._emit({"type": "final_transcript", "text": text, "turn": record.index})
        self._reply = reply
        self._echo.clear()
        reply.task = asyncio.ensure_future(self._run_reply(reply, text))

    # ------------------------------------------------------------------ barge-in mode

    async def _barge_step(self, seg: _Segment) -> None:
        cfg = self.config
        reply = self._reply
        if reply is None and not seg.ignored_reason:
            seg.barge = False  # the assistant finished meanwhile: this is an ordinary turn now
            seg.paused = False
            await self._turn_step(seg)
            return
        if reply is None:  # the tail of an echo or backchannel: let it end, then drop it
            if seg.silence_ms >= cfg.barge_end_silence_ms:
                self._drop_segment(seg)
            return
        if seg.silence_ms >= cfg.barge_end_silence_ms:
            if seg.barge_busy:
                return  # the transcript in flight decides (it sees the speech has ended)
            if (
                not seg.ignored_reason
                and not seg.final_checked
                and seg.speech_ms >= self.barge_in.min_speech_ms
            ):
                seg.final_checked = True  # short complete utterances ("No.", "What?") get one full check
                seg.barge_busy = True
                self._request_asr("barge", seg)
                return
            await self._ignore_segment(seg, reply, seg.ignored_reason or "too short")
            return
        if seg.silence_frames or seg.speech_ms < seg.next_check_speech or seg.barge_busy:
            return
        seg.next_check_speech = seg.speech_ms + cfg.barge_check_every_ms
        echo = self._echo.similarity(seg.audio)
        decision = self.barge_in.decide(self._barge_context(seg, None, echo))
        if decision.verdict is Verdict.INTERRUPT:
            await self._interrupt(decision.reason, seg.onset_wall, seg)
            return
        if decision.verdict is Verdict.IGNORE:
            seg.ignored_reason = decision.reason
            seg.paused = False
            self._resume(reply)
            return
        if not seg.paused:  # hold the audio while the words are checked
            seg.paused = True
            reply.resumed.clear()
            metrics.BARGE_IN_SECONDS.labels("pause").observe(max(0.0, self.clock.now() - seg.onset_wall))
            await self._emit({"type": "assistant_paused"})
        seg.barge_busy = True
        self._request_asr("barge", seg)

    async def _ignore_segment(self, seg: _Segment, reply: _Reply, reason: str) -> None:
        metrics.BARGE_IN_IGNORED.labels(reason.split(" (")[0]).inc()
        await self._emit({"type": "barge_in_ignored", "reason": reason, "text": seg.latest_text})
        self._drop_segment(seg)
        self._resume(reply)

    def _barge_context(
        self, seg: _Segment, text: str | None, echo: float, n_frames: int | None = None
    ) -> BargeInContext:
        reply = self._reply
        speaking = " ".join(reply.sentences) if reply is not None else ""  # all of this reply so far
        covered = n_frames is not None and n_frames >= seg.last_speech_index
        complete = covered and seg.silence_ms >= self.config.barge_end_silence_ms
        return BargeInContext(
            speech_ms=seg.speech_ms,
            transcript=text,
            echo_score=echo,
            speaking_text=speaking,
            complete=complete,
        )

    async def _barge_decide(self, seg: _Segment, text: str, n_frames: int) -> None:
        reply = self._reply
        if reply is None or seg.interrupted:
            return
        decision: Decision = self.barge_in.decide(
            self._barge_context(seg, text, self._echo.similarity(seg.audio), n_frames)
        )
        if decision.verdict is Verdict.INTERRUPT:
            await self._interrupt(decision.reason, seg.onset_wall, seg)
            return
        ended = seg.silence_ms >= self.config.barge_end_silence_ms
        if ended and n_frames < seg.last_speech_index and not seg.final_checked:
            # the speech ended while an early part was being transcribed: judge all of it once
            seg.final_checked = True
            seg.barge_busy = True
            self._request_asr("barge", seg)
            return
        if decision.verdict is Verdict.IGNORE:
            seg.ignored_reason = decision.reason
            self._resume(reply)
            seg.paused = False
        if seg.silence_ms >= self.config.barge_end_silence_ms:
            await self._ignore_segment(seg, reply, seg.ignored_reason or decision.reason)

    def _resume(self, reply: _Reply) -> None:
        if not reply.resumed.is_set():
            reply.resumed.set()

    async def _interrupt(self, reason: str, onset_wall: float | None, seg: _Segment | None = None) -> None:
        reply = self._reply
        if reply is None:
            return
        played = self._played_samples(reply)
        reply.ledger.closed = True  # confirmations that arrive after this moment were not heard
        reply.record.text_heard = reply.ledger.heard_text(played)
        reply.record.interrupted = True
        await self._cancel_reply()
        with contextlib.suppress(Exception):
            await self.sink.clear()
        now = self.clock.now()
        reaction = None if onset_wall is None else max(0.0, now - onset_wall)
        if reaction is not None:
            metrics.BARGE_IN_SECONDS.labels("interrupt").observe(reaction)
        metrics.INTERRUPTIONS.labels(reason.split(" '")[0]).inc()
        if seg is not None:
            seg.interrupted = True
            seg.barge = False
            seg.paused = False
        await self._emit(
            {
                "type": "interrupted",
                "turn": reply.record.index,
                "reason": reason,
                "text_heard": reply.record.text_heard,
                "text_full": reply.record.assistant_text,
                "reaction_ms": None if reaction is None else round(reaction * 1000, 1),
            }
        )

    async def _cancel_reply(self) -> None:
        reply, self._reply = self._reply, None
        if reply is None or reply.task is None:
            return
        reply.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reply.task

    def _played_samples(self, reply: _Reply) -> int:
        if self.config.playback_acks:
            return reply.ledger.confirmed
        if reply.play_start is None:
            return 0
        elapsed = self.clock.now() - reply.play_start
        return int(min(reply.ledger.sent, max(0.0, elapsed) * self.sink.sample_rate))

    # ------------------------------------------------------------------ speaking

    async def _run_reply(self, reply: _Reply, text: str, scripted: bool = False) -> None:
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        audio: asyncio.Queue[tuple[str, PCM16] | None] = asyncio.Queue()
        tasks = [
            asyncio.ensure_future(self._produce_text(reply, text, sentences, scripted)),
            asyncio.ensure_future(self._synthesize(reply, sentences, audio)),
            asyncio.ensure_future(self._pace(reply, audio)),
        ]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        except Exception:
            log.exception("assistant turn failed")
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._reply is reply:
            self._reply = None
        reply.record.text_heard = reply.record.assistant_text
        await self._emit(
            {"type": "assistant_done", "turn": reply.record.index, "text": reply.record.assistant_text}
        )

    async def _produce_text(
        self, reply: _Reply, text: str, out: asyncio.Queue[str | None], scripted: bool = False
    ) -> None:
        splitter = SentenceSplitter()
        stream = _scripted(text) if scripted else self.responder.respond(text, self.language)
        try:
            async for delta in stream:
                if not delta:
                    continue
                if "first_token" not in reply.stamps:
                    reply.stamps["first_token"] = self.clock.now()
                reply.record.assistant_text += delta
                await self._emit({"type": "assistant_delta", "turn": reply.record.index, "text": delta})
                for sentence in splitter.feed(delta):
                    await out.put(sentence)
            for sentence in splitter.flush():
                await out.put(sentence)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            await out.put(None)
        reply.record.assistant_text = reply.record.assistant_text.strip()

    async def _synthesize(
        self,
        reply: _Reply,
        sentences: asyncio.Queue[str | None],
        out: asyncio.Queue[tuple[str, PCM16] | None],
    ) -> None:
        to_sink = StreamResampler(self.tts.sample_rate, self.sink.sample_rate)
        try:
            while (sentence := await sentences.get()) is not None:
                started = self.clock.now()
                chunks = await self._in_thread(lambda s=sentence: list(self.tts.synthesize(s)))
                metrics.TTS_SECONDS.observe(self.clock.now() - started)
                pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
                converted = float_to_pcm16(to_sink.process(pcm16_to_float(pcm)))
                if "first_tts_audio" not in reply.stamps and converted.size:
                    reply.stamps["first_tts_audio"] = self.clock.now()
                reply.sentences.append(sentence)
                reply.ledger.add_sentence(sentence, len(converted))
                await out.put((sentence, converted))
        finally:
            await out.put(None)

    async def _pace(self, reply: _Reply, audio: asyncio.Queue[tuple[str, PCM16] | None]) -> None:
        """Sends 20 ms frames, never more than `lead_ms` ahead of real time."""
        rate = self.sink.sample_rate
        chunk = reply.chunk
        lead = self.config.lead_ms / 1000
        mark_every = rate * self.config.mark_every_ms // 1000
        pending = np.zeros(0, dtype=np.int16)
        since_mark = 0
        marks = 0
        finished = False
        while not finished:
            item = await audio.get()
            if item is None:
                finished = True
                if pending.size:
                    pending = np.concatenate([pending, np.zeros(chunk - pending.size, dtype=np.int16)])
            else:
                pending = np.concatenate([pending, item[1]])
            sentence_end = item is not None
            while pending.size >= chunk:
                frame, pending = pending[:chunk], pending[chunk:]
                await reply.resumed.wait()
                now = self.clock.now()
                if reply.play_start is None or now - reply.play_start > reply.sent_s:
                    reply.play_start = now - reply.sent_s  # (re)start: the far end has run dry
                ahead = reply.sent_s - (now - reply.play_start)
                if ahead > lead:
                    await self.clock.sleep(ahead - lead)
                    await reply.resumed.wait()
                await self.sink.send_audio(frame)
                if "first_audio_sent" not in reply.stamps:
                    reply.stamps["first_audio_sent"] = self.clock.now()
                    if "speech_end" in reply.stamps:  # a reply to speech, not a scripted prompt
                        await self._emit_latency(reply)
                reply.sent_s += chunk / rate
                reply.ledger.on_sent(chunk)
                self._echo.add(self._echo_down.process(pcm16_to_float(frame)))
                since_mark += chunk
                if since_mark >= mark_every or (sentence_end and pending.size < chunk):
                    marks += 1
                    since_mark = 0
                    name = f"t{reply.record.index}-{marks}"
                    reply.ledger.add_mark(name)
                    await self.sink.send_mark(name)
        reply.done_sending = True

    async def _emit_latency(self, reply: _Reply) -> None:
        stamps = reply.stamps
        base = stamps["speech_end"]
        stages = ("endpoint", "final_transcript", "first_token", "first_tts_audio", "first_audio_sent")
        values: dict[str, float | None] = {}
        for stage in stages:
            if stage in stamps:
                seconds = max(0.0, stamps[stage] - base)
                metrics.STAGE_SECONDS.labels(stage).observe(seconds)
                values[f"{stage}_ms"] = round(seconds * 1000, 1)
            else:
                values[f"{stage}_ms"] = None
        v2v = values["first_audio_sent_ms"]
        if v2v is not None:
            metrics.VOICE_TO_VOICE_SECONDS.observe(v2v / 1000)
        values["voice_to_voice_ms"] = v2v
        values["asr_ms"] = round(stamps.get("asr_seconds", 0.0) * 1000, 1)
        reply.record.latency_ms = values
        await self._emit({"type": "latency", "turn": reply.record.index, **values})


async def _scripted(text: str) -> AsyncIterator[str]:
    """A fixed text as a one-delta reply stream (what `VoiceSession.say` speaks)."""
    yield text
