"""The Careline app's voice WebSocket: binary PCM16 16 kHz mono both ways, JSON control.

Client -> server
    {"type": "start", "sample_rate": 16000, "format": "pcm16", "channels": 1,
     "language": "en", "playback_acks": true}                   first message, required
    <binary>  PCM16 little-endian mono 16 kHz, even length, <= 1 s per frame
    {"type": "played", "mark": "<name>"}                         playback reached a mark
    {"type": "interrupt"}                                        e.g. the patient tapped "stop"
    {"type": "stop"}                                             end of call
Server -> client
    {"type": "ready", "sample_rate": 16000, "format": "pcm16", "frame_ms": 20}
    <binary>  assistant audio, 20 ms frames, paced ~150 ms ahead of real time
    {"type": "mark", "name": "<name>"}     answer with "played" when playback reaches it
    {"type": "clear"}                      drop all buffered assistant audio now (barge-in)
    session events (partial_transcript, final_transcript, assistant_delta, assistant_done,
    interrupted, latency, ...) and {"type": "error", "code": "...", "message": "..."}
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from models.protocols import PCM16
from voice import metrics
from voice.audio import pcm16_from_bytes, pcm16_to_bytes
from voice.session import VoiceSession
from voice.transports.base import (
    AudioRateLimiter,
    Disconnected,
    ProtocolError,
    SessionFactory,
    SessionRefused,
    TransportLimits,
    WebSocketLike,
    build_session,
    error_event,
    receive_message,
    safe_close,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_MS = 20


@dataclass(frozen=True)
class StartMessage:
    language: str = "en"
    playback_acks: bool = True
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioMessage:
    pcm: PCM16


@dataclass(frozen=True)
class PlayedMessage:
    mark: str


@dataclass(frozen=True)
class ControlMessage:
    type: str  # interrupt | stop


AppMessage = StartMessage | AudioMessage | PlayedMessage | ControlMessage


def parse_message(message: str | bytes, *, max_frame_s: float = 1.0) -> AppMessage:
    """Pure decoder: one WebSocket message -> a typed message, or ProtocolError."""
    if isinstance(message, bytes):
        if len(message) == 0:
            raise ProtocolError("bad_frame", "empty audio frame")
        if len(message) % 2:
            raise ProtocolError(
                "bad_frame", f"audio frame of {len(message)} bytes: PCM16 frames have an even size"
            )
        if len(message) > int(max_frame_s * SAMPLE_RATE * 2):
            raise ProtocolError("bad_frame", f"audio frame of {len(message)} bytes exceeds {max_frame_s:g} s")
        return AudioMessage(pcm16_from_bytes(message))
    try:
        data = json.loads(message)
    except (json.JSONDecodeError, ValueError):
        raise ProtocolError("bad_message", "text messages must be JSON objects") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("bad_message", "JSON messages need a string 'type'")
    kind = data["type"]
    if kind == "start":
        rate = data.get("sample_rate", SAMPLE_RATE)
        fmt = data.get("format", "pcm16")
        channels = data.get("channels", 1)
        if rate != SAMPLE_RATE:
            raise ProtocolError(
                "unsupported_format", f"sample_rate {rate!r}: only 16000 is accepted", fatal=True
            )
        if fmt != "pcm16":
            raise ProtocolError("unsupported_format", f"format {fmt!r}: only pcm16 is accepted", fatal=True)
        if channels != 1:
            raise ProtocolError(
                "unsupported_format", f"channels {channels!r}: only mono is accepted", fatal=True
            )
        language = data.get("language", "en")
        if not isinstance(language, str) or not language:
            raise ProtocolError("bad_message", "language must be a string such as 'en' or 'zh'", fatal=True)
        return StartMessage(
            language=language, playback_acks=bool(data.get("playback_acks", True)), params=data
        )
    if kind == "played":
        mark = data.get("mark")
        if not isinstance(mark, str):
            raise ProtocolError("bad_message", "'played' needs a string 'mark'")
        return PlayedMessage(mark)
    if kind in ("interrupt", "stop"):
        return ControlMessage(kind)
    raise ProtocolError("bad_message", f"unknown message type {kind!r}")


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False)


class AppSink:
    """AudioSink writing to the app WebSocket; a vanished client makes every send a no-op."""

    sample_rate = SAMPLE_RATE

    def __init__(self, ws: WebSocketLike) -> None:
        self._ws = ws
        self.closed = False

    async def _send(self, data: str | bytes) -> None:
        if self.closed:
            return
        try:
            if isinstance(data, bytes):
                await self._ws.send_bytes(data)
            else:
                await self._ws.send_text(data)
        except Exception:
            self.closed = True

    async def send_audio(self, pcm16: PCM16) -> None:
        await self._send(pcm16_to_bytes(pcm16))

    async def send_mark(self, name: str) -> None:
        await self._send(encode_event({"type": "mark", "name": name}))

    async def clear(self) -> None:
        await self._send(encode_event({"type": "clear"}))

    async def send_event(self, event: dict[str, Any]) -> None:
        await self._send(encode_event(event))

    async def send_error(self, code: str, message: str) -> None:
        metrics.TRANSPORT_ERRORS.labels("app", code).inc()
        await self._send(error_event(code, message))


async def run_app_transport(
    ws: WebSocketLike, session_factory: SessionFactory, limits: TransportLimits | None = None
) -> VoiceSession | None:
    """Serves one accepted app WebSocket until the call ends; returns the (closed) session."""
    limits = limits or TransportLimits()
    sink = AppSink(ws)
    session: VoiceSession | None = None
    try:
        # 1. the start message
        try:
            first = await receive_message(ws, limits.start_timeout_s)
            start = parse_message(first, max_frame_s=limits.max_frame_s)
        except TimeoutError:
            await sink.send_error("idle_timeout", f"no start message within {limits.start_timeout_s:g} s")
            return None
        except ProtocolError as exc:
            await sink.send_error(exc.code, exc.message)
            return None
        if not isinstance(start, StartMessage):
            await sink.send_error("bad_message", "the first message must be {'type': 'start', ...}")
            return None
        params = dict(start.params)
        params.update(language=start.language, playback_acks=start.playback_acks)
        try:
            session = await build_session(session_factory, sink, params)
        except SessionRefused as exc:
            await sink.send_error("refused", exc.message)
            await safe_close(ws, exc.close_code)
            return None
        session.config.playback_acks = start.playback_acks
        await sink.send_event(
            {"type": "ready", "sample_rate": SAMPLE_RATE, "format": "pcm16", "frame_ms": FRAME_MS}
        )

        # 2. the call
        limiter = AudioRateLimiter(limits)
        last_audio = time.monotonic()
        bad_frames = 0
        while True:
            if session.assistant_active:  # push-to-talk clients are silent while the assistant speaks
                last_audio = time.monotonic()
            remaining = limits.idle_timeout_s - (time.monotonic() - last_audio)
            if remaining <= 0:
                await sink.send_error("idle_timeout", f"no audio for {limits.idle_timeout_s:g} s")
                return session
            try:
                raw = await receive_message(ws, remaining)
                msg = parse_message(raw, max_frame_s=limits.max_frame_s)
            except TimeoutError:
                continue  # re-checked at the top of the loop
            except ProtocolError as exc:
                await sink.send_error(exc.code, exc.message)
                bad_frames += 1
                if exc.fatal or bad_frames > limits.max_bad_frames:
                    return session
                continue
            if isinstance(msg, AudioMessage):
                last_audio = time.monotonic()
                if not limiter.add(len(msg.pcm) / SAMPLE_RATE):
                    await sink.send_error(
                        "rate_limited", f"audio arrives faster than {limits.max_realtime_factor:g}x real time"
                    )
                    return session
                await session.feed_audio(msg.pcm)
            elif isinstance(msg, PlayedMessage):
                last_audio = time.monotonic()  # playing our audio back counts as a live client
                await session.playback_mark(msg.mark)
            elif isinstance(msg, ControlMessage):
                if msg.type == "stop":
                    return session
                await session.interrupt("client request")
            else:
                await sink.send_error("bad_message", "'start' was already received")
    except Disconnected:
        return session
    finally:
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        sink.closed = True
        await safe_close(ws)
