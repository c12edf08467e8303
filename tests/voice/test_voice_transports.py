"""Transports: the app protocol over an in-memory socket, Twilio over a real websockets server."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import pytest
import websockets
from voice_testkit import ScriptedResponder, silence

from voice.audio import float_to_pcm16, mulaw_decode, mulaw_encode, pcm16_to_bytes, resample
from voice.clock import MonotonicClock
from voice.session import VoiceConfig, VoiceSession
from voice.transports.app_protocol import AudioMessage, StartMessage, parse_message, run_app_transport
from voice.transports.base import ProtocolError, TransportLimits, WebsocketsAdapter
from voice.transports.twilio import Media, Start, parse_twilio, run_twilio_transport

FAST = TransportLimits(max_realtime_factor=100.0, burst_s=10.0)


class MemorySocket:
    """A WebSocketLike in memory: the test pushes client messages, reads server messages."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.sent: list[str | bytes] = []
        self.closed_with: int | None = None
        self.new_message = asyncio.Event()

    async def receive(self) -> Any:
        return await self.incoming.get()

    async def send_text(self, data: str) -> None:
        self.sent.append(data)
        self.new_message.set()

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)
        self.new_message.set()

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        out = [json.loads(m) for m in self.sent if isinstance(m, str)]
        return [e for e in out if kind is None or e.get("type") == kind]

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        async def _wait() -> None:
            while not predicate():
                self.new_message.clear()
                await self.new_message.wait()

        await asyncio.wait_for(_wait(), timeout)


@pytest.fixture
def factory(asr, tts, vad):
    sessions: list[VoiceSession] = []

    def _factory(sink, params: dict[str, Any]) -> VoiceSession:
        clock = MonotonicClock()
        responder = ScriptedResponder(
            ["Hello, I am the Careline assistant. ", "How can I help you today?"], clock, delay_s=0.01
        )
        session = VoiceSession(
            asr=asr,
            tts=tts,
            vad=vad,
            responder=responder,
            sink=sink,
            config=VoiceConfig(language=str(params.get("language", "en"))),
            clock=clock,
        )
        sessions.append(session)
        return session

    _factory.sessions = sessions  # type: ignore[attr-defined]
    return _factory


def start_msg(**overrides: Any) -> str:
    return json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16", "channels": 1, **overrides})


# --- app protocol: the pure codec ----------------------------------------------------


def test_app_codec_validates_input() -> None:
    assert isinstance(parse_message(start_msg(language="zh")), StartMessage)
    assert isinstance(parse_message(b"\x00\x00" * 320), AudioMessage)
    cases = [
        (b"\x00" * 641, "bad_frame"),
        (b"", "bad_frame"),
        (b"\x00" * 64002, "bad_frame"),
        ("not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"type": "dance"}', "bad_message"),
        (start_msg(sample_rate=8000), "unsupported_format"),
        (start_msg(format="opus"), "unsupported_format"),
        (start_msg(channels=2), "unsupported_format"),
    ]
    for message, code in cases:
        with pytest.raises(ProtocolError) as err:
            parse_message(message)
        assert err.value.code == code, message


def test_twilio_codec() -> None:
    start = parse_twilio(
        json.dumps(
            {
                "event": "start",
                "streamSid": "MZ1",
                "start": {
                    "streamSid": "MZ1",
                    "callSid": "CA1",
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"language": "zh"},
                },
            }
        )
    )
    assert (
        isinstance(start, Start) and start.stream_sid == "MZ1" and start.custom_parameters["language"] == "zh"
    )
    media = parse_twilio(
        json.dumps({"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}})
    )
    assert isinstance(media, Media) and media.payload == b"\xff" * 160
    with pytest.raises(ProtocolError) as err:
        parse_twilio(json.dumps({"event": "media", "media": {"payload": "%%%not base64"}}))
    assert err.value.code == "bad_frame"
    with pytest.raises(ProtocolError) as err:
        parse_twilio(
            json.dumps(
                {
                    "event": "start",
                    "start": {
                        "streamSid": "x",
                        "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000},
                    },
                }
            )
        )
    assert err.value.fatal and err.value.code == "unsupported_format"
    with pytest.raises(ProtocolError):
        parse_twilio(b"\x00\x01")


# --- app protocol: the runner ----------------------------------------------------------


async def test_app_call_end_to_end(factory, say) -> None:
    ws = MemorySocket()
    task = asyncio.create_task(run_app_transport(ws, factory, FAST))
    await ws.incoming.put(start_msg(language="en"))
    audio = np.concatenate([silence(0.3), say("I have a headache."), silence(1.0)])
    pcm = float_to_pcm16(audio)
    for i in range(0, len(pcm), 320):
        await ws.incoming.put(pcm16_to_bytes(pcm[i : i + 320]))
    await ws.wait_for(lambda: len(ws.events("mark")) >= 2)
    for mark in ws.events("mark"):
        await ws.incoming.put(json.dumps({"type": "played", "mark": mark["name"]}))
    await ws.incoming.put(json.dumps({"type": "stop"}))
    session = await asyncio.wait_for(task, 30)
    assert ws.events("ready")[0]["sample_rate"] == 16000
    finals = ws.events("final_transcript")
    assert finals and "headache" in finals[0]["text"].lower()
    audio_out = [m for m in ws.sent if isinstance(m, bytes)]
    assert audio_out and {len(m) for m in audio_out} == {640}  # 20 ms of PCM16 at 16 kHz
    assert ws.events("latency")[0]["voice_to_voice_ms"] is not None
    assert session is not None and session.closed and session.turns[0].user_text
    assert ws.closed_with is not None


async def test_app_rejects_wrong_sample_rate(factory) -> None:
    ws = MemorySocket()
    await ws.incoming.put(start_msg(sample_rate=44100))
    assert await run_app_transport(ws, factory, FAST) is None
    assert ws.events("error")[0]["code"] == "unsupported_format"
    assert ws.closed_with is not None and not factory.sessions


async def test_app_requires_start_first(factory) -> None:
    ws = MemorySocket()
    await ws.incoming.put(b"\x00\x00" * 160)
    await run_app_transport(ws, factory, FAST)
    assert ws.events("error")[0]["code"] == "bad_message"
    assert ws.closed_with is not None


async def test_app_bad_frames_get_errors_and_the_call_goes_on(factory) -> None:
    ws = MemorySocket()
    task = asyncio.create_task(run_app_transport(ws, factory, FAST))
    await ws.incoming.put(start_msg())
    await ws.incoming.put(b"\x01\x02\x03")  # odd size
    await ws.incoming.put("garbage {")
    await ws.incoming.put(b"\x00\x00" * 320)  # still accepted afterwards
    await ws.incoming.put(json.dumps({"type": "stop"}))
    session = await asyncio.wait_for(task, 10)
    codes = [e["code"] for e in ws.events("error")]
    assert codes == ["bad_frame", "bad_message"]
    assert session is not None and session.closed


async def test_app_idle_client_is_closed(factory) -> None:
    ws = MemorySocket()
    await ws.incoming.put(start_msg())
    limits = TransportLimits(idle_timeout_s=0.3)
    session = await asyncio.wait_for(run_app_transport(ws, factory, limits), 5)
    assert ws.events("error")[-1]["code"] == "idle_timeout"
    assert session is not None and session.closed and ws.closed_with is not None


async def test_app_no_start_message_times_out(factory) -> None:
    ws = MemorySocket()
    assert (
        await asyncio.wait_for(run_app_transport(ws, factory, TransportLimits(start_timeout_s=0.2)), 5)
        is None
    )
    assert ws.events("error")[0]["code"] == "idle_timeout"


async def test_flooding_client_is_cut_off_and_others_are_unaffected(factory, say) -> None:
    flood, calm = MemorySocket(), MemorySocket()
    limits = TransportLimits(max_realtime_factor=2.0, burst_s=0.5)
    flood_task = asyncio.create_task(run_app_transport(flood, factory, limits))
    calm_task = asyncio.create_task(
        run_app_transport(calm, factory, TransportLimits(max_realtime_factor=2.0, burst_s=5))
    )
    await flood.incoming.put(start_msg())
    await calm.incoming.put(start_msg())
    for _ in range(100):  # 2 s of audio at once
        await flood.incoming.put(b"\x00\x00" * 320)
    await asyncio.wait_for(flood_task, 10)
    assert flood.events("error")[-1]["code"] == "rate_limited"
    assert flood.closed_with is not None
    pcm = float_to_pcm16(np.concatenate([say("Hello there."), silence(0.2)]))
    for i in range(0, len(pcm), 320):
        await calm.incoming.put(pcm16_to_bytes(pcm[i : i + 320]))
    await calm.incoming.put(json.dumps({"type": "stop"}))
    calm_session = await asyncio.wait_for(calm_task, 10)
    assert not calm.events("error")
    assert calm_session is not None and calm_session.closed


async def test_client_disconnect_mid_utterance(factory, say) -> None:
    ws = MemorySocket()
    task = asyncio.create_task(run_app_transport(ws, factory, FAST))
    await ws.incoming.put(start_msg())
    pcm = float_to_pcm16(say("I have been feeling dizzy since this morning."))
    for i in range(0, len(pcm) // 2, 320):
        await ws.incoming.put(pcm16_to_bytes(pcm[i : i + 320]))
    await ws.incoming.put(None)  # the socket drops
    session = await asyncio.wait_for(task, 10)
    assert session is not None and session.closed
    assert not ws.events("final_transcript")


# --- Twilio over a real websockets server -------------------------------------------------


def twilio_json(event: str, **body: Any) -> str:
    return json.dumps({"event": event, "streamSid": "MZtest", **body})


def mulaw_chunks(audio_16k: np.ndarray) -> list[str]:
    mulaw = mulaw_encode(float_to_pcm16(resample(audio_16k, 16000, 8000)))
    return [
        twilio_json(
            "media", media={"track": "inbound", "payload": base64.b64encode(mulaw[i : i + 160]).decode()}
        )
        for i in range(0, len(mulaw), 160)
    ]


async def test_twilio_call_over_loopback_websocket(factory, say) -> None:
    async def handler(connection: Any) -> None:
        await run_twilio_transport(WebsocketsAdapter(connection), factory, FAST)

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}") as client:
            await client.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            media_format = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
            start = {"streamSid": "MZtest", "callSid": "CAtest", "mediaFormat": media_format}
            await client.send(twilio_json("start", start=start))
            for message in mulaw_chunks(
                np.concatenate([silence(0.3), say("I have a headache."), silence(1.2)])
            ):
                await client.send(message)
            received: list[dict[str, Any]] = []

            async def collect(until: Any) -> None:
                while not until():
                    msg = json.loads(await client.recv())
                    received.append(msg)
                    if msg["event"] == "mark":  # Twilio echoes a mark once the audio before it played
                        await client.send(twilio_json("mark", mark={"name": msg["mark"]["name"]}))

            await asyncio.wait_for(collect(lambda: sum(m["event"] == "media" for m in received) >= 30), 30)
            # the patient says "stop" while the assistant talks: Twilio must be told to clear
            for message in mulaw_chunks(np.concatenate([say("Stop."), silence(0.6)])):
                await client.send(message)
                await asyncio.sleep(0.02)
            await asyncio.wait_for(collect(lambda: any(m["event"] == "clear" for m in received)), 30)
            await client.send(twilio_json("dtmf", dtmf={"track": "inbound_track", "digit": "5"}))
            await client.send(twilio_json("stop", stop={"callSid": "CAtest"}))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(client.recv(), 10)

    media = [m for m in received if m["event"] == "media"]
    assert all(m["streamSid"] == "MZtest" for m in received)
    assert {len(base64.b64decode(m["media"]["payload"])) for m in media} == {160}  # 20 ms of μ-law
    decoded = np.concatenate([mulaw_decode(base64.b64decode(m["media"]["payload"])) for m in media])
    assert np.abs(decoded).max() > 1000  # real speech, not silence
    assert any(m["event"] == "mark" for m in received)
    session = factory.sessions[0]
    assert session.closed
    texts = [e["text"].lower() for e in session.events if e["type"] == "final_transcript"]
    assert "headache" in texts[0]
    interrupted = [e for e in session.events if e["type"] == "interrupted"]
    assert interrupted and "stop" in interrupted[0]["reason"]
    assert session.turns[0].interrupted
    assert any(e["type"] == "dtmf" and e["digit"] == "5" for e in session.events)
