"""Two assistant worker processes share one pool of sessions through the real Redis, and stop gracefully.

The workers are real `careline serve-assistant` processes (all default models loaded), in front of
the test world's clinical API and knowledge base.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from assistant_world import World
from live_server import free_port

from careline.readiness import NotReady, wait_until_ready

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


class Worker:
    def __init__(self, world: World, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CARELINE_DATA_DIR": str(world.settings.data_dir),
            "CARELINE_CACHE_DIR": str(world.settings.cache_dir),
            "CARELINE_CHROMA__PATH": str(world.settings.chroma_path),
            "CARELINE_SERVER__ASSISTANT_PORT": str(self.port),
            "CARELINE_SERVER__CLINICAL_URL": world.clinical_url,
            "CARELINE_REDIS__URL": REDIS_URL,
            "CARELINE_LOG_LEVEL": "WARNING",
        }
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "careline", "serve-assistant"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 300) -> None:
        try:
            wait_until_ready(f"{self.url}/readyz", self.process, timeout)
        except NotReady as exc:
            raise AssertionError(f"worker {exc}: {self.log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="module")
def workers(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Worker, Worker]]:
    if not redis_available():
        pytest.skip("Redis at 127.0.0.1:6379 not reachable")
    logs = tmp_path_factory.mktemp("workers")
    pair = (Worker(world, logs / "a.log"), Worker(world, logs / "b.log"))
    try:
        for worker in pair:
            worker.wait_ready()
        yield pair
    finally:
        for worker in pair:
            worker.stop()


def test_a_session_opened_on_one_worker_continues_on_the_other(
    world: World, workers: tuple[Worker, Worker]
) -> None:
    a, b = workers
    headers = {"Authorization": f"Bearer {world.token('patient-3')}"}
    opened = httpx.post(f"{a.url}/v1/sessions", headers=headers, timeout=60)
    assert opened.status_code == 201
    session = opened.json()["id"]
    first = httpx.post(
        f"{b.url}/v1/sessions/{session}/messages",
        headers=headers,
        json={"text": "I've had a rash on my arm for two days"},
        timeout=120,
    )
    assert first.status_code == 200, first.text
    assert first.json()["state"]["flow"] == "triage"
    second = httpx.post(
        f"{a.url}/v1/sessions/{session}/messages", headers=headers, json={"text": "no"}, timeout=120
    )
    assert second.status_code == 200
    state = httpx.get(f"{b.url}/v1/sessions/{session}", headers=headers, timeout=30).json()
    users = [turn["text"] for turn in state["turns"] if turn["role"] == "user"]
    assert users == ["I've had a rash on my arm for two days", "no"]


def test_sigterm_finishes_the_request_in_flight_and_exits_cleanly(
    world: World, workers: tuple[Worker, Worker]
) -> None:
    a, b = workers
    headers = {"Authorization": f"Bearer {world.token('patient-1')}"}
    session = httpx.post(f"{a.url}/v1/sessions", headers=headers, timeout=60).json()["id"]
    result: dict[str, httpx.Response] = {}

    def ask() -> None:
        result["reply"] = httpx.post(
            f"{b.url}/v1/sessions/{session}/messages",
            headers=headers,
            json={"text": "What are the symptoms of high blood pressure?"},
            timeout=120,
        )

    asker = threading.Thread(target=ask)
    asker.start()
    time.sleep(0.3)  # the request is in flight (retrieval and wording take longer than this)
    b.process.send_signal(signal.SIGTERM)
    asker.join(120)
    # uvicorn shuts down gracefully, then re-raises the captured SIGTERM (exit -15), as process managers expect.
    assert b.process.wait(60) in (0, -signal.SIGTERM)
    assert result["reply"].status_code == 200
    assert "blood pressure" in result["reply"].json()["reply"].lower()
    # The finished turn was saved to the shared store before the worker went away.
    state = httpx.get(f"{a.url}/v1/sessions/{session}", headers=headers, timeout=30).json()
    assert (
        state["turns"][-1]["role"] == "assistant" and "blood pressure" in state["turns"][-1]["text"].lower()
    )
