"""Twilio Media Streams (bidirectional `<Connect><Stream>`): μ-law 8 kHz in base64 JSON.

Inbound events: connected, start (streamSid, mediaFormat, customParameters), media
(payload), mark (our mark played), dtmf, stop. Outbound: media, mark, clear, each
carrying the streamSid. Twilio has no channel for our own events; they go to the
session's `on_event` hook (and the logs).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from models.protocols import PCM16
from voice import metrics
from voice.audio import StreamResampler, mulaw_decode, mulaw_encode
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
    receive_message,
    safe_close,
)

log = logging.getLogger(__name__)

TWILIO_RATE = 8000


@dataclass(frozen=True)
class Connected:
    protocol: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    payload: bytes  # μ-law bytes
    track: str = "inbound"


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Stop:
    pass


TwilioMessage = Connected | Start | Media | Mark | Dtmf | Stop


def parse_twilio(message: str | bytes) -> TwilioMessage:
    """Pure decoder of one Twilio Media Streams message."""
    if isinstance(message, bytes):
        raise ProtocolError("bad_message", "Twilio sends JSON text messages, not binary")
    try:
        data = json.loads(message)
    except (json.JSONDecodeError, ValueError):
        raise ProtocolError("bad_message", "not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "not a JSON object")
    event = data.get("event")
    if event == "connected":
        return Connected(str(data.get("protocol", "")))
    if event == "start":
        start = data.get("start") or {}
        fmt = start.get("mediaFormat") or {}
        encoding, rate, channels = fmt.get("encoding"), fmt.get("sampleRate"), fmt.get("channels", 1)
        if encoding != "audio/x-mulaw" or rate != TWILIO_RATE or channels != 1:
            raise ProtocolError(
                "unsupported_format",
                f"media format {encoding}/{rate}/{channels}: need audio/x-mulaw/8000/1",
                fatal=True,
            )
        sid = start.get("streamSid") or data.get("streamSid")
        if not isinstance(sid, str) or not sid:
            raise ProtocolError("bad_message", "start without streamSid", fatal=True)
        params = start.get("customParameters") or {}
        return Start(sid, str(start.get("callSid", "")), {str(k): str(v) for k, v in params.items()})
    if event == "media":
        media = data.get("media") or {}
        try:
            payload = base64.b64decode(media.get("payload", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ProtocolError("bad_frame", "media payload is not base64") from None
        return Media(payload, str(media.get("track", "inbound")))
    if event == "mark":
        return Mark(str((data.get("mark") or {}).get("name", "")))
    if event == "dtmf":
        return Dtmf(str((data.get("dtmf") or {}).get("digit", "")))
    if event == "stop":
        return Stop()
    raise ProtocolError("bad_message", f"unknown event {event!r}")


def media_message(stream_sid: str, mulaw: bytes) -> str:
    return json.dumps(
        {"event": "media", "streamSid": stream_sid, "media": {"payload": base64.b64encode(mulaw).decode()}}
    )


def mark_message(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})


class TwilioSink:
    """AudioSink speaking Twilio: 8 kHz PCM16 in, μ-law media messages out."""

    sample_rate = TWILIO_RATE

    def __init__(self, ws: WebSocketLike, stream_sid: str) -> None:
        self._ws = ws
        self.stream_sid = stream_sid
        self.closed = False
        self.events: list[dict[str, Any]] = []

    async def _send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._ws.send_text(text)
        except Exception:
            self.closed = True

    async def send_audio(self, pcm16: PCM16) -> None:
        await self._send(media_message(self.stream_sid, mulaw_encode(pcm16)))

    async def send_mark(self, name: str) -> None:
        await self._send(mark_message(self.stream_sid, name))

    async def clear(self) -> None:
        await self._send(clear_message(self.stream_sid))

    async def send_event(self, event: dict[str, Any]) -> None:
        log.debug("twilio %s event %s", self.stream_sid, event.get("type"))


async def run_twilio_transport(
    ws: WebSocketLike, session_factory: SessionFactory, limits: TransportLimits | None = None
) -> VoiceSession | None:
    """Serves one accepted Twilio media-stream WebSocket until `stop` or disconnect."""
    limits = limits or TransportLimits()
    session: VoiceSession | None = None
    sink: TwilioSink | None = None
    upsample = StreamResampler(TWILIO_RATE, 16000)
    limiter = AudioRateLimiter(limits)
    started = time.monotonic()
    last_audio = started
    bad = 0
    try:
        while True:
            waited_from = last_audio if session is not None else started
            budget = limits.idle_timeout_s if session is not None else limits.start_timeout_s
            remaining = budget - (time.monotonic() - waited_from)
            if remaining <= 0:
                metrics.TRANSPORT_ERRORS.labels("twilio", "idle_timeout").inc()
                log.warning("twilio stream idle for %.1f s, closing", budget)
                return session
            try:
                msg = parse_twilio(await receive_message(ws, remaining))
            except TimeoutError:
                continue
            except ProtocolError as exc:
                metrics.TRANSPORT_ERRORS.labels("twilio", exc.code).inc()
                log.warning("twilio protocol error: %s", exc.message)
                bad += 1
                if exc.fatal or bad > limits.max_bad_frames:
                    return session
                continue
            if isinstance(msg, Connected):
                continue
            if isinstance(msg, Start):
                if session is not None:
                    continue
                sink = TwilioSink(ws, msg.stream_sid)
                params: dict[str, Any] = dict(msg.custom_parameters)
                params.setdefault("language", "en")
                params.update(stream_sid=msg.stream_sid, call_sid=msg.call_sid, playback_acks=True)
                try:
                    session = await build_session(session_factory, sink, params)
                except SessionRefused as exc:
                    metrics.TRANSPORT_ERRORS.labels("twilio", "refused").inc()
                    log.warning("twilio stream refused: %s", exc.message)
                    await safe_close(ws, exc.close_code)
                    return None
                last_audio = time.monotonic()
                continue
            if isinstance(msg, Stop):
                return session
            if session is None:
                metrics.TRANSPORT_ERRORS.labels("twilio", "before_start").inc()
                continue  # media/mark before start: nothing to attach it to
            if isinstance(msg, Media):
                if msg.track not in ("inbound", "inbound_track"):
                    continue
                last_audio = time.monotonic()
                if not limiter.add(len(msg.payload) / TWILIO_RATE):
                    metrics.TRANSPORT_ERRORS.labels("twilio", "rate_limited").inc()
                    log.warning("twilio stream floods audio, closing")
                    return session
                await session.feed_audio(upsample.process_pcm16(mulaw_decode(msg.payload)))
            elif isinstance(msg, Mark):
                await session.playback_mark(msg.name)
            elif isinstance(msg, Dtmf):
                await session.notify({"type": "dtmf", "digit": msg.digit})
    except Disconnected:
        return session
    finally:
        if sink is not None:
            sink.closed = True
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        await safe_close(ws)
