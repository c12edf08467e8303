"""Text-turn latency of the assistant over its WebSocket, with the default local models.

    python -m bench.text_turns [--turns 40] [--levels 1,2,4,8,16]

Starts the clinical API (SQLite, demo seed) and the assistant (every default model, a MedQuAD
subset in Chroma) on loopback, then drives `/v1/sessions/{id}/stream` like the app does:

- time to first token (`assistant_delta`) and to the full reply (`assistant_done`), p50/p95,
  over a mix of library questions, new symptoms (triage), booking and follow-up turns;
- the raw local LLM (SmolLM2-135M): time to first token and to a 48-token reply;
- concurrency: N sessions at once, each sending turns back to back; the largest N whose p95
  first-token stays under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from bench.common import describe_ms, free_port, percentile
from bench.world import bench_settings, served_world
from models.protocols import ChatMessage
from models.registry import ModelRegistry

TURNS = [
    "What are the symptoms of diabetes?",
    "How is high blood pressure treated?",
    "I've had a sore throat for two days",
    "no",
    "I'd like to book a video consult",
    "What causes asthma?",
    "My knee has been swollen since yesterday",
    "Can I eat spicy food after radiation therapy?",
]


async def one_turn(ws: websockets.ClientConnection, text: str) -> tuple[float, float]:
    """(first token, full reply) in seconds; a `rate_limited` error (faster than a person types) is
    honoured by waiting and sending again, and the wait counts against the turn."""
    sent = time.perf_counter()
    await ws.send(json.dumps({"type": "user_text", "text": text}))
    first = None
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "error" and event.get("code") == "rate_limited":
            await asyncio.sleep(0.25)
            await ws.send(json.dumps({"type": "user_text", "text": text}))
        if event["type"] == "assistant_delta" and first is None:
            first = time.perf_counter() - sent
        if event["type"] == "assistant_done":
            return (first if first is not None else time.perf_counter() - sent), time.perf_counter() - sent


async def session_run(assistant: str, token: str, turns: list[str]) -> list[tuple[float, float]]:
    async with httpx.AsyncClient(timeout=120) as client:
        opened = await client.post(f"{assistant}/v1/sessions", headers={"Authorization": f"Bearer {token}"})
        session = opened.json()["id"]
    url = assistant.replace("http://", "ws://") + f"/v1/sessions/{session}/stream?token={token}"
    results = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # ready
        for text in turns:
            results.append(await one_turn(ws, text))
    return results


def llm_figures(registry: ModelRegistry, runs: int = 10) -> tuple[list[float], list[float]]:
    llm = registry.llm()
    messages = [
        ChatMessage("system", "You are a kind care assistant. Answer in one short sentence."),
        ChatMessage("user", "I have a headache since yesterday. What should I do?"),
    ]

    async def run() -> tuple[float, float]:
        start = time.perf_counter()
        first = None
        async for _ in llm.stream(messages, max_new_tokens=48):
            first = first or time.perf_counter() - start
        return first or 0.0, time.perf_counter() - start

    firsts, totals = [], []
    for _ in range(runs):
        first, total = asyncio.run(run())
        firsts.append(first)
        totals.append(total)
    return firsts, totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--levels", default="1,2,4,8,16")
    args = parser.parse_args()
    registry = ModelRegistry(bench_settings(Path(tempfile.mkdtemp(prefix="llm-bench-")), free_port()))
    firsts, totals = llm_figures(registry)
    print(f"local LLM (SmolLM2-135M, {registry.settings.device}) first token: {describe_ms(firsts)}")
    print(f"local LLM 48-token reply: {describe_ms(totals)}")
    with served_world(registry) as world:
        tokens = world.tokens
        turns = (TURNS * (args.turns // len(TURNS) + 1))[: args.turns]
        results = asyncio.run(session_run(world.assistant_url, tokens[0], turns))
        print(f"text turn first token: {describe_ms([r[0] for r in results])}")
        print(f"text turn full reply: {describe_ms([r[1] for r in results])}")
        sustained = 0
        for level in (int(x) for x in args.levels.split(",")):

            async def burst(n: int = level) -> list[tuple[float, float]]:
                runs = await asyncio.gather(
                    *(session_run(world.assistant_url, tokens[i % len(tokens)], TURNS[:4]) for i in range(n))
                )
                return [r for run in runs for r in run]

            started = time.perf_counter()
            burst_results = asyncio.run(burst())
            p95 = percentile([r[0] for r in burst_results], 95)
            rate = len(burst_results) / (time.perf_counter() - started)
            print(
                f"{level:>3} concurrent sessions: first token {describe_ms([r[0] for r in burst_results])}; "
                f"{rate:.1f} turns/s"
            )
            if p95 < 2.0:
                sustained = level
        print(f"concurrent text sessions sustained with p95 first token < 2 s: {sustained}")


if __name__ == "__main__":
    main()
