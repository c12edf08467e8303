"""Resident memory of both servers with every default model loaded, and per extra voice session.

    python -m bench.memory [--sessions 10]

Starts `careline serve-clinical` and `careline serve-assistant` as separate processes (as
`careline serve` does), on a temporary data folder holding a MedQuAD subset, waits for both
`/readyz`, then reads VmRSS from /proc. Then it opens voice sessions on the app audio WebSocket,
streams a second of audio into each, and reports the assistant's RSS growth per session.
Budget from the brief: both servers under 2.5 GB; each extra voice session under 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import websockets

from bench.common import free_port
from bench.world import TOPICS
from careline.paths import SHARED_DATA
from careline.readiness import wait_until_ready
from careline.settings import ChromaSettings, Settings
from clinical_api.app import create_app as create_clinical
from clinical_api.seed import seed
from knowledge import KnowledgeBase
from knowledge.sample import topic_subset


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_voice_sessions(assistant: str, clinical: str, n: int) -> list[websockets.ClientConnection]:
    token = httpx.post(
        f"{clinical}/auth/token", data={"username": "patient-1", "password": "careline-demo"}
    ).json()["access_token"]
    silence = (np.random.default_rng(1).normal(0, 30, 320)).astype(np.int16).tobytes()
    sockets = []
    for _ in range(n):
        session = httpx.post(
            f"{assistant}/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).json()["id"]
        ws = await websockets.connect(
            assistant.replace("http://", "ws://") + f"/v1/sessions/{session}/audio?token={token}"
        )
        await ws.send(json.dumps({"type": "start", "sample_rate": 16000, "format": "pcm16"}))
        await ws.recv()
        for _ in range(50):  # one second of faint noise: VAD and resampler state exist
            await ws.send(silence)
        sockets.append(ws)
    await asyncio.sleep(2)
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    clinical_port, assistant_port = free_port(), free_port()
    settings = Settings(data_dir=tmp, chroma=ChromaSettings(path=tmp / "chroma"), log_level="WARNING")
    app = create_clinical(settings)
    with app.state.sessionmaker() as db:
        seed(db, settings)
        db.commit()
    app.state.engine.dispose()
    KnowledgeBase.from_settings(settings).ingest(
        [topic_subset(SHARED_DATA / "medquad" / "corpus.jsonl", tmp / "subset.jsonl", TOPICS, 40)]
    )
    env = {
        **os.environ,
        "CARELINE_DATA_DIR": str(tmp),
        "CARELINE_CHROMA__PATH": str(tmp / "chroma"),
        "CARELINE_SERVER__CLINICAL_PORT": str(clinical_port),
        "CARELINE_SERVER__ASSISTANT_PORT": str(assistant_port),
        "CARELINE_LOG_LEVEL": "WARNING",
    }
    log = (tmp / "servers.log").open("wb")
    clinical = subprocess.Popen(
        [sys.executable, "-m", "careline", "serve-clinical"], env=env, stdout=log, stderr=log
    )
    assistant = subprocess.Popen(
        [sys.executable, "-m", "careline", "serve-assistant"], env=env, stdout=log, stderr=log
    )
    clinical_url, assistant_url = f"http://127.0.0.1:{clinical_port}", f"http://127.0.0.1:{assistant_port}"
    try:
        wait_until_ready(f"{clinical_url}/readyz", clinical)
        wait_until_ready(f"{assistant_url}/readyz", assistant)
        time.sleep(2)
        base_clinical, base_assistant = rss_mb(clinical.pid), rss_mb(assistant.pid)
        print(f"clinical API RSS: {base_clinical:.0f} MB")
        print(f"assistant RSS (llm, embeddings, asr, tts, vad loaded): {base_assistant:.0f} MB")
        print(f"both servers: {base_clinical + base_assistant:.0f} MB (budget 2560 MB)")

        async def sessions() -> None:
            sockets = await open_voice_sessions(assistant_url, clinical_url, args.sessions)
            grown = rss_mb(assistant.pid) - base_assistant
            print(
                f"{args.sessions} voice sessions: +{grown:.0f} MB, {grown / args.sessions:.1f} MB each (budget 50)"
            )
            for ws in sockets:
                await ws.close()

        asyncio.run(sessions())
    finally:
        for process in (assistant, clinical):
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
