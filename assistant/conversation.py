"""Runs one turn for any channel: streams the words, forwards events, and records what was delivered.

The history keeps only what the patient actually received. When a turn is cut short
(a new message, a barge-in, a disconnect) the assistant turn holds the delivered
prefix and is marked interrupted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from assistant.dialogue.agent import DialogueAgent
from assistant.dialogue.events import Emit, Say
from assistant.sessions.state import SessionState, Turn
from assistant.tools import PatientTools

Send = Callable[[dict[str, Any]], Awaitable[None]]
_PIECES = re.compile(r"\S+\s*|\s+")


def word_pieces(text: str) -> list[str]:
    """Streams English word by word and Chinese a few characters at a time."""
    pieces: list[str] = []
    for piece in _PIECES.findall(text):
        if len(piece) > 8 and not piece.isascii():
            pieces.extend(piece[i : i + 4] for i in range(0, len(piece), 4))
        else:
            pieces.append(piece)
    return pieces


async def run_text_turn(
    agent: DialogueAgent, state: SessionState, tools: PatientTools, text: str, send: Send
) -> str:
    """Streams one reply as `assistant_delta` events; returns the delivered text."""
    state.turns.append(Turn(role="user", text=text, channel="text"))
    delivered: list[str] = []
    try:
        async for out in agent.handle(state, tools, text):
            if isinstance(out, Say):
                for piece in word_pieces(out.text):
                    await send({"type": "assistant_delta", "text": piece})
                    delivered.append(piece)
                    await asyncio.sleep(0)  # a turn in flight can be interrupted between words
            elif isinstance(out, Emit):
                await send(out.as_message())
    except asyncio.CancelledError:
        state.turns.append(Turn(role="assistant", text="".join(delivered).strip(), interrupted=True))
        raise
    reply = "".join(delivered).strip()
    state.turns.append(Turn(role="assistant", text=reply))
    await send({"type": "assistant_done", "text": reply, "state": state.public_view() | {"turns": None}})
    return reply
