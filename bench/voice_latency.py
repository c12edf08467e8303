"""Voice figures over loopback WebSockets with the real models (app protocol, real time).

    python -m bench.voice_latency [--quick] [--assistant]

`--assistant` measures the product path instead: the real assistant server (dialogue agent, knowledge
base, clinical API, transcripts) behind `/v1/sessions/{id}/audio`, with library questions and triage.

- voice-to-voice: end of patient speech (client clock, last voiced 20 ms chunk sent) to the
  first assistant audio frame received; LLM-less (the responder yields at once) and with a
  simulated LLM (268 ms to first token, ~20 tokens/s: SmolLM2-135M on this CPU).
- barge-in: speech onset (first voiced chunk sent) to the assistant audio stopping
  (`assistant_paused`/`interrupted`, after which no frame is sent) and to `clear`.
- false interruptions on backchannels and on the assistant's own echo.
- concurrent sessions: how many stay real time (no playback underrun, v2v p95 < 1.5 s).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from careline.settings import Settings
from models.registry import ModelRegistry
from voice.audio import float_to_pcm16, pcm16_from_bytes, pcm16_to_bytes, pcm16_to_float, resample
from voice.clock import MonotonicClock
from voice.session import VoiceConfig, VoiceSession
from voice.transports.app_protocol import run_app_transport
from voice.transports.base import TransportLimits, WebsocketsAdapter

CHUNK = 320  # 20 ms at 16 kHz
SHORT_REPLY = ["Okay. ", "I have noted that", " for the nurse.", " Is there anything else?"]
LONG_REPLY = [
    "I am sorry to hear that. ",
    "Headaches can have many causes, such as stress, poor sleep, or not drinking enough water. ",
    "Please tell me when it started and how strong the pain is on a scale from one to ten. ",
    "If you also have a stiff neck or a high fever, please call your doctor right away.",
]
UTTERANCES = [
    "I have had a headache since yesterday.",
    "My blood pressure was high this morning.",
    "Can I take my tablets with food?",
    "I feel a bit dizzy when I stand up.",
]


class TimedResponder:
    def __init__(self, deltas: list[str], first_token_s: float, per_delta_s: float) -> None:
        self.deltas, self.first_token_s, self.per_delta_s = deltas, first_token_s, per_delta_s

    async def respond(self, transcript: str, language: str) -> Any:
        await asyncio.sleep(self.first_token_s)
        for i, delta in enumerate(self.deltas):
            if i:
                await asyncio.sleep(self.per_delta_s)
            yield delta


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def voiced_bounds(audio: np.ndarray) -> tuple[int, int]:
    """First and last 20 ms chunk index with speech energy."""
    n = len(audio) // CHUNK
    rms = np.sqrt(np.mean(audio[: n * CHUNK].reshape(n, CHUNK) ** 2, axis=1))
    voiced = np.nonzero(rms > 0.01)[0]
    if not len(voiced):  # silence (the echo trials): measure from the start
        return 0, 0
    return int(voiced[0]), int(voiced[-1])


class Client:
    """A real-time app client: plays received audio (acks marks when played), can echo it back."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[tuple[float, Any]] = []
        self.audio_times: list[float] = []
        self.buffer_end = 0.0
        self.pending_acks: list[tuple[float, str]] = []
        self.echo_frames: deque[tuple[float, np.ndarray]] = deque()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                now = time.monotonic()
                self.messages.append((now, msg))
                if isinstance(msg, bytes):
                    self.audio_times.append(now)
                    play_at = max(self.buffer_end, now)  # when the loudspeaker plays this frame
                    self.buffer_end = play_at + 0.02
                    self.echo_frames.append((play_at, pcm16_to_float(pcm16_from_bytes(msg))))
                else:
                    event = json.loads(msg)
                    if event["type"] == "mark":
                        self.pending_acks.append((self.buffer_end, event["name"]))
                    elif event["type"] == "clear":
                        self.pending_acks.clear()
                        self.echo_frames.clear()
                        self.buffer_end = now
        except websockets.ConnectionClosed:
            pass

    async def _ack_due(self) -> None:
        now = time.monotonic()
        due = [n for t, n in self.pending_acks if t <= now]
        self.pending_acks = [(t, n) for t, n in self.pending_acks if t > now]
        for name in due:
            await self.ws.send(json.dumps({"type": "played", "mark": name}))

    async def stream(self, audio: np.ndarray, echo_gain: float = 0.0) -> list[float]:
        """Sends audio in real time (20 ms chunks); returns the send time of each chunk."""
        times: list[float] = []
        start = time.monotonic()
        for i in range(0, len(audio) - CHUNK + 1, CHUNK):
            chunk = audio[i : i + CHUNK]
            now = time.monotonic()
            while self.echo_frames and self.echo_frames[0][0] + 0.02 < now:
                self.echo_frames.popleft()  # already played
            if self.echo_frames and self.echo_frames[0][0] <= now:
                played = self.echo_frames.popleft()[1]  # what the loudspeaker plays right now
                if echo_gain:
                    chunk = chunk + echo_gain * played
            target = start + len(times) * 0.02
            await asyncio.sleep(max(0.0, target - time.monotonic()))
            times.append(time.monotonic())
            await self.ws.send(pcm16_to_bytes(float_to_pcm16(chunk)))
            await self._ack_due()
        return times

    def events(self, kind: str, after: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        out = []
        for t, m in self.messages:
            if isinstance(m, str) and t >= after:
                e = json.loads(m)
                if e["type"] == kind:
                    out.append((t, e))
        return out

    def first_audio_after(self, t0: float) -> float | None:
        return next((t for t in self.audio_times if t >= t0), None)

    async def close(self) -> None:
        await self.ws.send(json.dumps({"type": "stop"}))
        await self.ws.close()
        self.reader.cancel()


class Bench:
    def __init__(self) -> None:
        self.registry = ModelRegistry(Settings(cache_dir=Path(".cache/careline").resolve()))
        self.asr, self.tts, self.vad = self.registry.asr("en"), self.registry.tts("en"), self.registry.vad()
        self.reply: list[str] = SHORT_REPLY
        self.first_token_s = 0.0
        self.per_delta_s = 0.0
        self.sessions: list[VoiceSession] = []
        self.url_for: Callable[[int], Awaitable[str]] | None = None  # set: connect to the real assistant

    def say(self, text: str) -> np.ndarray:
        from piper import SynthesisConfig

        cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        pcm = np.concatenate([c.audio_int16_array for c in self.tts._voice.synthesize(text, syn_config=cfg)])  # type: ignore[attr-defined]
        return resample(pcm16_to_float(pcm), self.tts.sample_rate, 16000) * 0.6

    def factory(self, sink: Any, params: dict[str, Any]) -> VoiceSession:
        session = VoiceSession(
            asr=self.asr,
            tts=self.tts,
            vad=self.vad,
            responder=TimedResponder(self.reply, self.first_token_s, self.per_delta_s),
            sink=sink,
            config=VoiceConfig(),
            clock=MonotonicClock(),
        )
        self.sessions.append(session)
        return session

    async def handler(self, connection: Any) -> None:
        await run_app_transport(WebsocketsAdapter(connection), self.factory, TransportLimits())

    async def connect(self, port: int) -> Client:
        url = await self.url_for(port) if self.url_for else f"ws://127.0.0.1:{port}"
        ws = await websockets.connect(url, max_size=None)
        await ws.send(
            json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16", "language": "en"})
        )
        return Client(ws)

    async def turn(self, port: int, utterance: np.ndarray) -> dict[str, Any]:
        client = await self.connect(port)
        audio = np.concatenate([np.zeros(CHUNK * 15, np.float32), utterance, np.zeros(16000, np.float32)])
        _, last = voiced_bounds(audio)
        times = await client.stream(audio)
        end_of_speech = times[last] + 0.02
        waited = time.monotonic()
        while client.first_audio_after(end_of_speech) is None and time.monotonic() - waited < 8:
            await client.stream(np.zeros(CHUNK * 10, np.float32))  # keep streaming silence, as a phone does
        await asyncio.sleep(0.5)
        first = client.first_audio_after(end_of_speech)
        latency = client.events("latency")
        gaps = np.diff([t for t in client.audio_times if first is not None and t >= first])
        await client.close()
        return {
            "v2v": None if first is None else (first - end_of_speech) * 1000,
            "server": latency[0][1] if latency else None,
            "underruns": int(np.sum(gaps > 0.2)) if len(gaps) else 0,
        }

    async def barge(self, port: int, opener: np.ndarray, interruption: np.ndarray, echo: float = 0.0) -> dict:
        client = await self.connect(port)
        await client.stream(
            np.concatenate([np.zeros(CHUNK * 10, np.float32), opener, np.zeros(16000, np.float32)])
        )
        wait_start = time.monotonic()
        while not client.audio_times and time.monotonic() - wait_start < 10:
            await client.stream(np.zeros(CHUNK * 5, np.float32), echo_gain=echo)
        await client.stream(np.zeros(16000, np.float32), echo_gain=echo)  # 1 s into the reply
        audio = np.concatenate([interruption, np.zeros(int(16000 * 1.5), np.float32)])
        first, _ = voiced_bounds(audio)
        times = await client.stream(audio, echo_gain=echo)
        onset = times[first]
        waited = time.monotonic()
        while not client.events("clear", onset) and time.monotonic() - waited < 4:
            await client.stream(np.zeros(CHUNK * 10, np.float32), echo_gain=echo)  # give a slow CPU time
        stops = [t for kind in ("assistant_paused", "interrupted") for t, _ in client.events(kind, onset)]
        clears = [t for t, e in client.events("clear", onset)]
        interrupted = client.events("interrupted")
        await client.close()
        return {
            "stop_ms": (min(stops) - onset) * 1000 if stops else None,
            "clear_ms": (clears[0] - onset) * 1000 if clears else None,
            "interrupted": bool(interrupted),
            "why": [e.get("reason") for _, e in interrupted],
        }


async def false_interruptions(bench: Bench, port: int, opener: np.ndarray, reps: int) -> None:
    false_bc = []
    for text in ["Mhm.", "Yeah.", "Okay.", "Right."] * reps:
        false_bc.append(await bench.barge(port, opener, bench.say(text)))
    echo = [await bench.barge(port, opener, np.zeros(16000, np.float32), echo=0.5) for _ in range(2 * reps)]
    print("\n== false interruptions")
    print(f"backchannels (mhm/yeah/okay/right): {sum(b['interrupted'] for b in false_bc)}/{len(false_bc)}")
    print(f"own echo fed back at -6 dB: {sum(b['interrupted'] for b in echo)}/{len(echo)}")
    reasons = [w for b in false_bc + echo for w in b["why"]]
    if reasons:
        print(f"  (false interruption reasons: {reasons})")


async def run(quick: bool) -> None:
    bench = Bench()
    reps = 1 if quick else 2
    utterances = [bench.say(u) for u in UTTERANCES]
    async with websockets.serve(bench.handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        await bench.turn(port, utterances[0])  # warm-up

        for label, first_token, per_delta in (
            ("LLM-less pipeline", 0.0, 0.0),
            ("with simulated LLM", 0.268, 0.05),
        ):
            bench.reply, bench.first_token_s, bench.per_delta_s = SHORT_REPLY, first_token, per_delta
            results = [await bench.turn(port, u) for _ in range(reps) for u in utterances]
            v2v = [r["v2v"] for r in results if r["v2v"] is not None]
            servers = [r["server"] for r in results if r["server"]]
            print(f"\n== voice-to-voice, {label} ({len(v2v)} turns, loopback, real time)")
            print(
                f"client: end of speech -> first audio frame: p50 {pct(v2v, 50):.0f} ms, p95 {pct(v2v, 95):.0f} ms"
            )
            for key in (
                "endpoint_ms",
                "final_transcript_ms",
                "first_token_ms",
                "first_tts_audio_ms",
                "first_audio_sent_ms",
            ):
                vals = [s[key] for s in servers if s.get(key) is not None]
                print(f"  server {key:22s} p50 {pct(vals, 50):6.0f}  p95 {pct(vals, 95):6.0f}")
            asr = [s["asr_ms"] for s in servers]
            print(f"  server final ASR duration   p50 {pct(asr, 50):6.0f}  p95 {pct(asr, 95):6.0f}")

        bench.reply, bench.first_token_s, bench.per_delta_s = LONG_REPLY, 0.0, 0.0
        opener = bench.say("I have a headache.")
        if "--false-only" in sys.argv:
            await false_interruptions(bench, port, opener, reps)
            return
        barge = []
        for text in ["Stop.", "Wait a moment.", "Actually, I have a question about my medication."] * reps:
            barge.append(await bench.barge(port, opener, bench.say(text)))
        stop = [b["stop_ms"] for b in barge if b["stop_ms"] is not None]
        clear = [b["clear_ms"] for b in barge if b["clear_ms"] is not None]
        print(f"\n== barge-in ({len(barge)} trials: stop / wait a moment / a question)")
        print(
            f"speech onset -> assistant audio stops: p50 {pct(stop, 50):.0f} ms, p95 {pct(stop, 95):.0f} ms"
        )
        print(
            f"speech onset -> clear sent (interrupt confirmed): p50 {pct(clear, 50):.0f} ms, p95 {pct(clear, 95):.0f} ms"
        )
        print(f"interrupted: {sum(b['interrupted'] for b in barge)}/{len(barge)}")

        await false_interruptions(bench, port, opener, reps)

        bench.reply, bench.first_token_s, bench.per_delta_s = SHORT_REPLY, 0.0, 0.0
        print(
            "\n== concurrent sessions (each: one real-time turn; real time = no underrun, v2v p95 < 1500 ms)"
        )
        for n in (1, 2, 3, 4, 6):
            results = await asyncio.gather(
                *[bench.turn(port, utterances[i % len(utterances)]) for i in range(n)]
            )
            v2v = [r["v2v"] for r in results if r["v2v"] is not None]
            underruns = sum(r["underruns"] for r in results)
            ok = len(v2v) == n and underruns == 0 and pct(v2v, 95) < 1500
            print(
                f"{n} sessions: v2v p50 {pct(v2v, 50):.0f} ms, p95 {pct(v2v, 95):.0f} ms, "
                f"underruns {underruns}, {'real time' if ok else 'NOT real time'}"
            )
    print(f"\n(cpu count {__import__('os').cpu_count()}; load average {__import__('os').getloadavg()})")


ASSISTANT_UTTERANCES = [
    "What are the symptoms of diabetes?",
    "How is high blood pressure treated?",
    "I have had a sore throat for two days.",
    "What causes asthma?",
]


def run_assistant(quick: bool) -> None:
    """Voice-to-voice and barge-in through the real assistant (each turn on a fresh session)."""
    from bench.world import served_world

    bench = Bench()
    with served_world(bench.registry) as world:

        async def audio_url(_port: int) -> str:
            token = world.tokens[0]
            session = await asyncio.to_thread(world.open_session, token)
            return world.ws_url(f"/v1/sessions/{session}/audio?token={token}")

        async def measure() -> None:
            bench.url_for = audio_url
            utterances = [bench.say(u) for u in ASSISTANT_UTTERANCES]
            await bench.turn(0, utterances[0])  # warm-up
            results = [await bench.turn(0, u) for _ in range(1 if quick else 3) for u in utterances]
            v2v = [r["v2v"] for r in results if r["v2v"] is not None]
            servers = [r["server"] for r in results if r["server"]]
            print(f"\n== voice-to-voice through the assistant ({len(v2v)} turns, loopback, real time)")
            print(
                f"client: end of speech -> first audio frame: p50 {pct(v2v, 50):.0f} ms, p95 {pct(v2v, 95):.0f} ms"
            )
            for key in ("endpoint_ms", "first_token_ms", "first_tts_audio_ms", "first_audio_sent_ms"):
                vals = [srv[key] for srv in servers if srv.get(key) is not None]
                print(f"  server {key:22s} p50 {pct(vals, 50):6.0f}  p95 {pct(vals, 95):6.0f}")
            opener = bench.say("What are the symptoms of diabetes?")
            barge = [
                await bench.barge(0, opener, bench.say(t))
                for t in ("Stop.", "Wait a moment.") * (1 if quick else 2)
            ]
            stop = [b["stop_ms"] for b in barge if b["stop_ms"] is not None]
            print(f"barge-in through the assistant: audio stops p50 {pct(stop, 50):.0f} ms, p95 {pct(stop, 95):.0f} ms; "
                  f"interrupted {sum(b['interrupted'] for b in barge)}/{len(barge)}")  # fmt: skip

        asyncio.run(measure())


def main() -> None:
    if "--assistant" in sys.argv:
        run_assistant("--quick" in sys.argv)
        return
    asyncio.run(run("--quick" in sys.argv))


if __name__ == "__main__":
    main()
