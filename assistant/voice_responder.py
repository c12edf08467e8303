"""The dialogue agent as a `voice.Responder`, keeping the session history to what the patient heard.

The user turn is saved when the reply starts; the assistant turn is saved only when the voice
session reports how much was played (`assistant_done`, `interrupted`, or the call ending), so the
history never holds words the patient did not hear.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from assistant.dialogue.events import Emit, Say
from assistant.services import AssistantServices
from assistant.sessions.state import Turn
from assistant.tools import PatientTools
from assistant.transcripts import save_turn
from voice.session import VoiceSession

Notify = Callable[[dict[str, Any]], Awaitable[None]]


class DialogueResponder:
    """One call's bridge between a `VoiceSession` and the dialogue agent."""

    def __init__(self, services: AssistantServices, tools: PatientTools, session_id: str) -> None:
        self.services = services
        self.tools = tools
        self.session_id = session_id
        self._notify: Notify | None = None
        self._recorded: set[int] = set()

    def bind(self, session: VoiceSession) -> None:
        """Structured events (triage, escalation, summary) go out through the session's listeners."""
        self._notify = session.notify

    async def respond(self, transcript: str, language: str) -> AsyncIterator[str]:
        store = self.services.store
        async with store.turn_lock(self.session_id):
            state = await store.load(self.session_id)
            state.turns.append(Turn(role="user", text=transcript, channel="voice"))
            try:
                async for out in self.services.agent.handle(state, self.tools, transcript):
                    if isinstance(out, Say) and out.spoken:
                        yield out.text.strip() + " "
                    elif isinstance(out, Emit) and self._notify is not None:
                        await self._notify(out.as_message())
            finally:
                await asyncio.shield(store.save(state))

    async def on_voice_event(self, event: dict[str, Any]) -> None:
        """`VoiceSession(on_event=...)`: records the assistant turn once its playback is known."""
        kind = event.get("type")
        if kind == "assistant_done":
            await self._record(int(event["turn"]), str(event.get("text", "")), interrupted=False)
        elif kind == "interrupted":
            await self._record(int(event["turn"]), str(event.get("text_heard", "")), interrupted=True)

    async def finish(self, session: VoiceSession) -> None:
        """After the call: a reply cut off by a hang-up is recorded with what was heard."""
        for record in session.turns:
            if record.assistant_text or record.interrupted:
                await self._record(record.index, record.text_heard, interrupted=record.interrupted)

    async def _record(self, index: int, heard: str, *, interrupted: bool) -> None:
        if index in self._recorded:
            return
        self._recorded.add(index)
        store = self.services.store
        async with store.turn_lock(self.session_id):
            state = await store.load(self.session_id)
            state.turns.append(
                Turn(role="assistant", text=heard.strip(), interrupted=interrupted, channel="voice")
            )
            await save_turn(store, self.tools, state)
