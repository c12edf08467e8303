"""Voice end to end: the app's audio WebSocket and the Twilio media stream on the real assistant server.

Speech is synthesised by the real TTS, streamed in 20 ms frames (at twice real time, inside the
transport's flood limit), recognised by the real Whisper, answered by the real dialogue agent.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from assistant_world import World

from models.registry import ModelRegistry
from voice.audio import float_to_pcm16, mulaw_encode, pcm16_to_float, resample

FRAME_16K = 320  # 20 ms


def speech(registry: ModelRegistry, text: str, rate: int = 16000, language: str = "en") -> np.ndarray:
    """The utterance as PCM16 at `rate`, followed by 1.5 s of silence so the turn ends."""
    tts = registry.tts(language)
    audio = np.concatenate([pcm16_to_float(chunk) for chunk in tts.synthesize(text)])
    audio = resample(audio, tts.sample_rate, rate)
    return float_to_pcm16(np.concatenate([audio, np.zeros(int(rate * 1.5), dtype=np.float32)]))


class AppCall:
    """A scripted app client: streams audio, acknowledges marks, collects events and audio bytes."""

    def __init__(self, ws: Any, ack_marks: bool = True) -> None:
        self.ws = ws
        self.ack_marks = ack_marks
        self.events: list[dict[str, Any]] = []
        self.audio_bytes = 0

    async def stream(self, pcm: np.ndarray) -> None:
        for start in range(0, len(pcm), FRAME_16K):
            await self.ws.send(pcm[start : start + FRAME_16K].tobytes())
            await asyncio.sleep(0.01)

    async def pump_until(self, kind: str, timeout: float = 90) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    message = await self.ws.recv()
                except websockets.ConnectionClosed as exc:
                    raise AssertionError(f"closed before {kind!r}; events: {self.events[-8:]}") from exc
                if isinstance(message, bytes):
                    self.audio_bytes += len(message)
                    continue
                event = json.loads(message)
                self.events.append(event)
                if event["type"] == "mark" and self.ack_marks:
                    await self.ws.send(json.dumps({"type": "played", "mark": event["name"]}))
                if event["type"] == kind:
                    return event

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def open_session(world: World, username: str, language: str = "en") -> tuple[str, str]:
    token = world.token(username)
    response = httpx.post(
        f"{world.assistant_url}/v1/sessions",
        headers={"Authorization": f"Bearer {token}"},
        json={"language": language},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return token, str(response.json()["id"])


def session_state(world: World, token: str, session_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{world.assistant_url}/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return dict(response.json())


def ws_url(world: World, path: str) -> str:
    return world.assistant_url.replace("http://", "ws://") + path


async def test_app_voice_question_is_answered_aloud_and_the_history_keeps_what_was_heard(
    world: World, registry: ModelRegistry
) -> None:
    token, session_id = open_session(world, "patient-1")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio?token={token}")) as ws:
        call = AppCall(ws)
        await ws.send(
            json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16", "language": "en"})
        )
        await call.pump_until("ready", 10)
        sender = asyncio.create_task(call.stream(speech(registry, "What are the symptoms of diabetes?")))
        final = await call.pump_until("final_transcript")
        await sender
        assert "diabetes" in final["text"].lower()
        await call.pump_until("assistant_done")
        latency = call.of("latency")[0]
        await ws.send(json.dumps({"type": "stop"}))
    assert call.audio_bytes > 16000 * 2  # more than a second of spoken reply
    assert latency["voice_to_voice_ms"] is not None and latency["first_token_ms"] is not None
    assert call.of("sources"), "the grounded answer's sources reach the app as an event"
    turns = session_state(world, token, session_id)["turns"]
    user, assistant = turns[-2], turns[-1]
    assert user["channel"] == "voice" and "diabetes" in user["text"].lower()
    assert assistant["channel"] == "voice" and "diabetes" in assistant["text"].lower()
    assert not assistant["interrupted"]


async def test_interrupted_voice_reply_keeps_only_the_acknowledged_words(
    world: World, registry: ModelRegistry
) -> None:
    token, session_id = open_session(world, "patient-3")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio?token={token}")) as ws:
        call = AppCall(ws, ack_marks=False)  # the app never confirms playback: nothing counts as heard yet
        await ws.send(json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16"}))
        await call.pump_until("ready", 10)
        sender = asyncio.create_task(call.stream(speech(registry, "What are the symptoms of diabetes?")))
        await call.pump_until("assistant_delta")
        await sender
        for _ in range(4):  # the app confirms the first 1.6 s of playback, then the patient taps "stop"
            mark = await call.pump_until("mark")
            await ws.send(json.dumps({"type": "played", "mark": mark["name"]}))
        await ws.send(json.dumps({"type": "interrupt"}))
        await call.pump_until("clear", 20)
        interrupted = await call.pump_until("interrupted", 20)
        await ws.send(json.dumps({"type": "stop"}))
    assert interrupted["text_heard"] and interrupted["text_heard"] != interrupted["text_full"]
    assert interrupted["text_full"].startswith(interrupted["text_heard"].rstrip(". "))
    turns = session_state(world, token, session_id)["turns"]
    assert turns[-1]["interrupted"] is True
    assert turns[-1]["text"] == interrupted["text_heard"].strip()


async def test_voice_emergency_escalates_whatever_else_happens(world: World, registry: ModelRegistry) -> None:
    token, session_id = open_session(world, "patient-4")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio?token={token}")) as ws:
        call = AppCall(ws)
        await ws.send(json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16"}))
        await call.pump_until("ready", 10)
        utterance = speech(registry, "I have crushing chest pain and I can't breathe.")
        sender = asyncio.create_task(call.stream(utterance))
        escalation = await call.pump_until("escalation")
        await sender
        await call.pump_until("assistant_done")
    assert escalation["status"] == "created" and escalation["task_id"]
    spoken = "".join(e["text"] for e in call.of("assistant_delta")).lower()
    assert "emergency" in spoken or "999" in spoken or "911" in spoken or "112" in spoken


async def test_audio_socket_refuses_a_missing_token_and_another_patients_session(world: World) -> None:
    _, session_id = open_session(world, "patient-1")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio")) as ws:
        assert json.loads(await ws.recv())["code"] == 401
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    other = world.token("patient-2")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio?token={other}")) as ws:
        assert json.loads(await ws.recv())["code"] == 404


async def test_phone_checkin_call_speaks_first_in_mulaw_and_records_the_greeting(world: World) -> None:
    token = world.token("patient-2")
    async with websockets.connect(ws_url(world, "/v1/phone/twilio")) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "event": "start",
            "streamSid": "MZ0001",
            "start": {
                "streamSid": "MZ0001",
                "callSid": "CA0001",
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"token": token, "purpose": "checkin"},
            },
        }
        await ws.send(json.dumps(start))
        media, marks = 0, []
        silence = base64.b64encode(mulaw_encode(np.zeros(160, dtype=np.int16))).decode()
        async with asyncio.timeout(60):
            while len(marks) < 2:
                message = json.loads(await ws.recv())
                if message["event"] == "media":
                    assert message["streamSid"] == "MZ0001"
                    assert len(base64.b64decode(message["media"]["payload"])) == 160  # 20 ms of 8 kHz μ-law
                    media += 1
                    await ws.send(
                        json.dumps({"event": "media", "media": {"track": "inbound", "payload": silence}})
                    )
                elif message["event"] == "mark":
                    marks.append(message["mark"]["name"])
                    await ws.send(
                        json.dumps({"event": "mark", "streamSid": "MZ0001", "mark": message["mark"]})
                    )
        await ws.send(json.dumps({"event": "stop", "streamSid": "MZ0001"}))
    assert media > 20
    clinical = world.clinical("patient-2")
    patient_id = clinical.get("/fhir/Patient").json()["entry"][0]["resource"]["id"]
    assert patient_id  # the call ran for this patient's record


async def test_phone_stream_without_a_token_is_closed(world: World) -> None:
    async with websockets.connect(ws_url(world, "/v1/phone/twilio")) as ws:
        start = {
            "event": "start",
            "start": {
                "streamSid": "MZ0002",
                "callSid": "CA0002",
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"purpose": "checkin"},
            },
            "streamSid": "MZ0002",
        }
        await ws.send(json.dumps(start))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_chinese_voice_turn_runs_on_whisper_base_and_espeak(
    world: World, registry: ModelRegistry
) -> None:
    """The whole Chinese path: base (multilingual) ASR in, Chinese dialogue, espeak-ng audio out.

    The input is espeak-ng's own (robotic) Mandarin, which Whisper base transcribes only roughly, so
    this checks the path, not recognition accuracy (there is no recorded Chinese speech to test on).
    """
    token, session_id = open_session(world, "patient-1", language="zh")
    async with websockets.connect(ws_url(world, f"/v1/sessions/{session_id}/audio?token={token}")) as ws:
        call = AppCall(ws)
        await ws.send(
            json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16", "language": "zh"})
        )
        await call.pump_until("ready", 10)
        sender = asyncio.create_task(call.stream(speech(registry, "我头疼三天了。", language="zh")))
        final = await call.pump_until("final_transcript")
        await sender
        await call.pump_until("assistant_done")
        await ws.send(json.dumps({"type": "stop"}))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in final["text"]), final
    reply = "".join(e["text"] for e in call.of("assistant_delta"))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reply), reply
    assert call.audio_bytes > 16000  # espeak-ng spoke the Chinese reply
