"""The text channel: WebSocket `/v1/sessions/{id}/stream`, protocol version 1 (see docs/assistant.md).

Client -> server: `{"type": "user_text", "text": ...}`, `{"type": "ping"}`.
Server -> client: `ready`, `assistant_delta`, `assistant_done`, `triage`, `summary`, `escalation`,
`sources`, `appointment`, `interrupted`, `error`, `pong`.
A new `user_text` while a reply streams interrupts it; the history keeps what was sent, marked interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from assistant.api import MAX_MESSAGE_CHARS, accept_session_socket
from assistant.conversation import run_text_turn
from assistant.services import AssistantServices
from assistant.sessions.state import SessionState
from assistant.tools import PatientTools
from assistant.transcripts import save_turn

PROTOCOL_VERSION = 1
router = APIRouter()


class RateLimit:
    """Token bucket: a flood of messages gets errors, not a dead session."""

    def __init__(self, per_second: float = 4.0, burst: int = 8) -> None:
        self.rate, self.capacity = per_second, float(burst)
        self.tokens, self.updated = float(burst), time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def parse_client_event(raw: str | bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """(event, None) or (None, error code) for binary, non-UTF-8, non-JSON, unknown or oversized input."""
    if raw is None:
        return None, "empty"
    if isinstance(raw, bytes):
        return None, "binary_not_supported"
    try:
        event = json.loads(raw)
    except json.JSONDecodeError:
        return None, "malformed_json"
    if not isinstance(event, dict) or event.get("type") not in ("user_text", "ping"):
        return None, "unknown_event_type"
    if event["type"] == "user_text":
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            return None, "empty_text"
        if len(text) > MAX_MESSAGE_CHARS:
            return None, "text_too_long"
    return event, None


@router.websocket("/v1/sessions/{session_id}/stream")
async def stream(websocket: WebSocket, session_id: str) -> None:
    accepted = await accept_session_socket(websocket, session_id)
    if accepted is not None:
        await TextStream(websocket, *accepted).run()


class TextStream:
    def __init__(
        self, websocket: WebSocket, services: AssistantServices, tools: PatientTools, state: SessionState
    ) -> None:
        self.websocket, self.services, self.tools, self.state = websocket, services, tools, state
        self.limit = RateLimit()
        self.turn: asyncio.Task[None] | None = None
        self.send_lock = asyncio.Lock()

    async def send_saved(self, event: dict[str, Any]) -> None:
        """Like `send`, but the state is stored before `assistant_done` goes out: a client that
        reconnects the moment it sees the reply finds the session as the reply left it."""
        if event["type"] == "assistant_done":
            await self.services.store.save(self.state)
        await self.send(event)

    async def send(self, event: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_json(event)

    async def run(self) -> None:
        await self.send({"type": "ready", "protocol": PROTOCOL_VERSION, "state": self.state.public_view()})
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                event, error = parse_client_event(message.get("text", message.get("bytes")))
                if error is not None or event is None:
                    await self.send(
                        {"type": "error", "code": error, "message": "event ignored; session continues"}
                    )
                    continue
                if not self.limit.allow():
                    await self.send({"type": "error", "code": "rate_limited", "message": "slow down"})
                    continue
                if event["type"] == "ping":
                    await self.send({"type": "pong"})
                    continue
                await self.interrupt()
                self.turn = asyncio.create_task(self.run_turn(event["text"].strip()))
        except WebSocketDisconnect:
            pass
        finally:
            await self.interrupt(notify=False)

    async def interrupt(self, notify: bool = True) -> None:
        """Cancels a reply in flight; the turn saves what was delivered, flagged interrupted."""
        if self.turn is None or self.turn.done():
            return
        self.turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.turn
        if notify and self.state.turns and self.state.turns[-1].interrupted:
            await self.send({"type": "interrupted", "heard": self.state.turns[-1].text})

    async def run_turn(self, text: str) -> None:
        async with self.services.store.turn_lock(self.state.id):
            self.state = await self.services.store.load(self.state.id)
            try:
                await run_text_turn(self.services.agent, self.state, self.tools, text, self.send_saved)
            except WebSocketDisconnect:
                pass
            finally:
                await asyncio.shield(save_turn(self.services.store, self.tools, self.state))
