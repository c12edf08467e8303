"""The LLM role: the packaged SmolLM2 through transformers, and an OpenAI-compatible server (llama.cpp).

Cancellation must stop generation itself, not just stop reading it: we count the model's forward
passes (one per generated token) to prove the worker stopped early.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from live_server import free_port

from careline.settings import LLMSettings, Settings
from models.llm import SMOLLM2_GGUF, OpenAICompatibleGenerator, packaged_smollm2_dir
from models.protocols import ChatMessage
from models.registry import ModelRegistry

QUESTION = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Name three fruits, then explain why each is healthy in detail."),
]


async def test_local_llm_streams_tokens(registry: ModelRegistry) -> None:
    llm = registry.llm()
    tokens = [token async for token in llm.stream(QUESTION, max_new_tokens=24)]
    assert len(tokens) >= 3
    assert "".join(tokens).strip()


async def test_cancelling_the_local_stream_stops_generation(registry: ModelRegistry) -> None:
    llm = registry.llm()
    model = getattr(llm, "model")  # noqa: B009  (the transformers generator exposes its model)
    passes = 0

    def count(*_args: object) -> None:
        nonlocal passes
        passes += 1

    handle = model.register_forward_hook(count)
    try:
        stream = llm.stream(QUESTION, max_new_tokens=300)
        received = 0
        async for _ in stream:
            received += 1
            if received == 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        stopped_at = passes
        time.sleep(0.5)
    finally:
        handle.remove()
    assert stopped_at < 60, f"generation ran on to {stopped_at} tokens after the reader left"
    assert passes == stopped_at, "the worker kept generating after the stream was closed"


def llama_cpp_server_available() -> bool:
    return (
        importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None
    )


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on the packaged GGUF."""
    if not llama_cpp_server_available():
        pytest.skip("llama-cpp-python[server] is not installed (pip install '.[llama-server]')")
    port = free_port()
    gguf = packaged_smollm2_dir() / SMOLLM2_GGUF
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--port", str(port),
         "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError("llama.cpp server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(30)


async def test_openai_compatible_server_streams_through_the_registry(llama_server: str, tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path, llm=LLMSettings(backend="openai", base_url=llama_server, model="smollm2")
    )
    llm = ModelRegistry(settings).llm()
    assert isinstance(llm, OpenAICompatibleGenerator)
    tokens = [token async for token in llm.stream(QUESTION, max_new_tokens=24)]
    assert len(tokens) >= 3 and "".join(tokens).strip()


async def test_cancelling_an_openai_stream_frees_the_server(llama_server: str) -> None:
    llm = OpenAICompatibleGenerator(llama_server, "smollm2", "", 400, 0.0)
    stream = llm.stream(QUESTION)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    # The connection is closed, so llama.cpp aborts that completion; the next request is served.
    again = [token async for token in llm.stream(QUESTION, max_new_tokens=8)]
    assert again
