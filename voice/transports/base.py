"""What every transport shares: the WebSocket-like Protocol, limits and error events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from voice.session import AudioSink, VoiceSession


@runtime_checkable
class WebSocketLike(Protocol):
    """Starlette's `WebSocket` fits as is; `WebsocketsAdapter` wraps a `websockets` connection.

    `receive()` may return a str, bytes, an ASGI message dict (Starlette), or None on disconnect.
    """

    async def receive(self) -> Any: ...

    async def send_text(self, data: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class Disconnected(Exception):
    """The client went away."""


class ProtocolError(Exception):
    """Bad input from a client: `code` is machine-readable, `fatal` closes the connection."""

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


class SessionRefused(Exception):
    """The session factory will not serve this call (e.g. no valid patient token): close with `close_code`."""

    def __init__(self, message: str, close_code: int = 4401) -> None:
        super().__init__(message)
        self.message = message
        self.close_code = close_code


SessionFactory = Callable[[AudioSink, dict[str, Any]], "VoiceSession | Awaitable[VoiceSession]"]


@dataclass(frozen=True)
class TransportLimits:
    idle_timeout_s: float = 15.0  # no audio for this long -> error + close
    start_timeout_s: float = 10.0  # no start message for this long -> error + close
    max_realtime_factor: float = 2.0  # audio arriving faster than this x real time is a flood
    burst_s: float = 2.0  # audio allowed ahead of that rate (network jitter)
    max_frame_s: float = 1.0  # largest single audio frame
    max_bad_frames: int = 20  # bad frames tolerated before closing


class AudioRateLimiter:
    """Counts received audio seconds against wall time; a client may not push more than
    `max_realtime_factor` x real time (plus a burst), which would starve other sessions."""

    def __init__(self, limits: TransportLimits, now: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._now = now
        self._start: float | None = None
        self.received_s = 0.0

    def add(self, seconds: float) -> bool:
        now = self._now()
        if self._start is None:
            self._start = now
        self.received_s += seconds
        allowed = self._limits.max_realtime_factor * (now - self._start) + self._limits.burst_s
        return self.received_s <= allowed


async def receive_message(ws: WebSocketLike, timeout: float | None) -> str | bytes:
    """Next text or binary message; raises Disconnected, or TimeoutError after `timeout`."""
    msg = await asyncio.wait_for(ws.receive(), timeout=timeout) if timeout else await ws.receive()
    if msg is None:
        raise Disconnected()
    if isinstance(msg, dict):  # ASGI (Starlette WebSocket.receive)
        if msg.get("type") == "websocket.disconnect":
            raise Disconnected()
        if msg.get("bytes") is not None:
            return bytes(msg["bytes"])
        if msg.get("text") is not None:
            return str(msg["text"])
        raise Disconnected()
    if isinstance(msg, bytes | bytearray | memoryview):
        return bytes(msg)
    return str(msg)


async def safe_close(ws: WebSocketLike, code: int = 1000) -> None:
    with contextlib.suppress(Exception):  # already closed by the peer
        await ws.close(code)


def error_event(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class WebsocketsAdapter:
    """Wraps a `websockets` connection (server or client side) as a WebSocketLike."""

    def __init__(self, connection: Any) -> None:
        self._conn = connection

    async def receive(self) -> str | bytes | None:
        try:
            return await self._conn.recv()  # type: ignore[no-any-return,unused-ignore]
        except Exception:  # ConnectionClosed*
            return None

    async def send_text(self, data: str) -> None:
        await self._conn.send(data)

    async def send_bytes(self, data: bytes) -> None:
        await self._conn.send(data)

    async def close(self, code: int = 1000) -> None:
        await self._conn.close(code)


async def build_session(factory: SessionFactory, sink: AudioSink, params: dict[str, Any]) -> VoiceSession:
    result = factory(sink, params)
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        session: VoiceSession = await result
        return session
    assert isinstance(result, VoiceSession)
    return result
