"""The text WebSocket, protocol v1: bad input, floods, interruption and resuming after a disconnect."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from assistant_world import World
from live_server import LiveServer

from assistant.dialogue.events import Say, TurnOutput
from assistant.server import create_app
from assistant.services import build_services
from models.registry import ModelRegistry

SLOW_REPLY = "This reply is spoken slowly, one word every thirty milliseconds, so that it can be cut short."


class SlowAgent:
    """A scripted timeline: the real agent, except that "slow" gets a reply paced word by word."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def greeting(self, lang: str) -> str:
        return str(self.real.greeting(lang))

    async def handle(self, state: Any, tools: Any, text: str) -> AsyncIterator[TurnOutput]:
        if text != "slow":
            async for out in self.real.handle(state, tools, text):
                yield out
            return
        for word in SLOW_REPLY.split():
            yield Say(word + " ")
            await asyncio.sleep(0.03)


@pytest.fixture(scope="module")
def slow_assistant(world: World, registry: ModelRegistry) -> Iterator[str]:
    services = build_services(world.settings, registry)
    services = dataclasses.replace(services, agent=SlowAgent(services.agent))  # type: ignore[arg-type]
    with LiveServer(create_app(world.settings, services, preload=False)) as server:
        yield server.url


def open_session(world: World, username: str) -> tuple[str, str]:
    token = world.token(username)
    response = httpx.post(
        f"{world.assistant_url}/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.status_code == 201
    return token, str(response.json()["id"])


def stream_url(world: World, session_id: str, token: str) -> str:
    return world.assistant_url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/stream?token={token}"


async def until(ws: Any, kind: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            event = json.loads(await ws.recv())
            if seen is not None:
                seen.append(event)
            if event["type"] == kind:
                return dict(event)


async def test_bad_input_gets_error_events_and_the_session_survives(world: World) -> None:
    token, session_id = open_session(world, "patient-1")
    async with websockets.connect(stream_url(world, session_id, token)) as ws:
        ready = await until(ws, "ready")
        assert ready["protocol"] == 1
        cases = [
            (b"\xff\xfe\x00binary", "binary_not_supported"),
            ("{not json", "malformed_json"),
            (json.dumps({"type": "shout", "text": "hi"}), "unknown_event_type"),
            (json.dumps({"type": "user_text", "text": "   "}), "empty_text"),
            (json.dumps({"type": "user_text", "text": "x" * 5000}), "text_too_long"),
        ]
        for message, code in cases:
            await ws.send(message)
            assert (await until(ws, "error"))["code"] == code
        await ws.send(json.dumps({"type": "user_text", "text": "What are the symptoms of diabetes?"}))
        done = await until(ws, "assistant_done")
    assert "diabetes" in done["text"].lower()


async def test_a_flood_is_rate_limited_without_killing_the_session(world: World) -> None:
    token, session_id = open_session(world, "patient-1")
    async with websockets.connect(stream_url(world, session_id, token)) as ws:
        await until(ws, "ready")
        for _ in range(30):
            await ws.send(json.dumps({"type": "ping"}))
        kinds: list[str] = []
        async with asyncio.timeout(30):
            while len(kinds) < 30:
                kinds.append(json.loads(await ws.recv())["type"])
        assert "pong" in kinds
        assert kinds.count("error") >= 10  # 4 per second with a burst of 8
        await asyncio.sleep(2.5)  # the bucket refills
        await ws.send(json.dumps({"type": "ping"}))
        assert (await until(ws, "pong"))["type"] == "pong"


async def test_a_new_message_interrupts_the_reply_and_history_keeps_only_what_was_sent(
    world: World, slow_assistant: str
) -> None:
    token = world.token("patient-3")
    opened = httpx.post(
        f"{slow_assistant}/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    session_id = opened.json()["id"]
    url = slow_assistant.replace("http://", "ws://") + f"/v1/sessions/{session_id}/stream?token={token}"
    async with websockets.connect(url) as ws:
        await until(ws, "ready")
        await ws.send(json.dumps({"type": "user_text", "text": "slow"}))
        for _ in range(3):
            await until(ws, "assistant_delta")
        await ws.send(json.dumps({"type": "user_text", "text": "How is high blood pressure treated?"}))
        interrupted = await until(ws, "interrupted")
        done = await until(ws, "assistant_done")
    assert "blood pressure" in done["text"].lower()
    heard = interrupted["heard"].strip()
    assert heard and SLOW_REPLY.startswith(heard) and heard != SLOW_REPLY
    state = httpx.get(
        f"{slow_assistant}/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    cut = [turn for turn in state["turns"] if turn["interrupted"]]
    assert [turn["text"] for turn in cut] == [heard]


async def test_a_session_resumes_after_a_disconnect(world: World) -> None:
    token, session_id = open_session(world, "patient-4")
    async with websockets.connect(stream_url(world, session_id, token)) as ws:
        await until(ws, "ready")
        await ws.send(json.dumps({"type": "user_text", "text": "I've had a rash on my arm for two days"}))
        first = await until(ws, "assistant_done")
    assert first["state"]["flow"] == "triage"
    async with websockets.connect(stream_url(world, session_id, token)) as ws:
        ready = await until(ws, "ready")
        assert ready["state"]["flow"] == "triage"
        assert any("rash" in turn["text"] for turn in ready["state"]["turns"])
        await ws.send(json.dumps({"type": "user_text", "text": "no"}))
        second = await until(ws, "assistant_done")
    assert second["state"]["flow"] in ("triage", "idle")
