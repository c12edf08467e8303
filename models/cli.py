"""`careline models prepare|check`: make the packaged weights ready, then prove each role works."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import typer

from careline.settings import get_settings
from models.protocols import ChatMessage
from models.registry import ModelRegistry, get_registry

app = typer.Typer(no_args_is_help=True, help="Prepare and check the packaged models.")

JFK_FLAC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "audio" / "jfk.flac"


def _size_on_disk(source: str) -> str:
    path = Path(source)
    if not path.exists():
        return "-"
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return f"{sum(p.stat().st_size for p in files) / 1e6:.0f} MB"


def _probe_llm(registry: ModelRegistry) -> str:
    async def first_tokens() -> str:
        parts: list[str] = []
        stream = registry.llm().stream([ChatMessage("user", "Say hello to a patient.")], max_new_tokens=12)
        async for token in stream:
            parts.append(token)
        return "".join(parts).strip()

    return f"reply starts {asyncio.run(first_tokens())[:60]!r}"


def _probe_asr(registry: ModelRegistry) -> str:
    from faster_whisper import decode_audio

    audio = decode_audio(str(JFK_FLAC), sampling_rate=16000)
    started = time.perf_counter()
    transcript = registry.asr("en").transcribe(audio, language="en")
    elapsed = time.perf_counter() - started
    return f"jfk.flac -> {transcript.text.strip()[:70]!r} ({len(audio) / 16000 / elapsed:.1f}x real time)"


def _probe_tts(registry: ModelRegistry) -> str:
    tts = registry.tts("en")
    samples = sum(len(chunk) for chunk in tts.synthesize("Hello, this is your care assistant."))
    return f"{samples / tts.sample_rate:.2f} s of audio at {tts.sample_rate} Hz"


def _probe_embeddings(registry: ModelRegistry) -> str:
    vector = registry.embeddings().embed(["Do I need to fast before my CT scan?"])
    return f"dimension {vector.shape[1]}, norm {float((vector[0] ** 2).sum()) ** 0.5:.3f}"


def _probe_vad(registry: ModelRegistry) -> str:
    import numpy as np

    stream = registry.vad().new_stream()
    silence = stream.probability(np.zeros(stream.frame_samples, dtype=np.float32))
    return f"speech probability on silence {silence:.3f}"


PROBES: dict[str, tuple[Callable[[ModelRegistry], object], Callable[[ModelRegistry], str]]] = {
    "embeddings": (lambda r: r.embeddings(), _probe_embeddings),
    "vad": (lambda r: r.vad(), _probe_vad),
    "asr": (lambda r: r.asr("en"), _probe_asr),
    "tts": (lambda r: r.tts("en"), _probe_tts),
    "llm": (lambda r: r.llm(), _probe_llm),
}


@app.command()
def prepare() -> None:
    """Assemble split weights and convert GGUF once into the cache folder (fast when already done)."""
    from models.asr import assemble_split_model
    from models.llm import converted_smollm2_dir

    settings = get_settings()
    started = time.perf_counter()
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    if settings.llm.backend == "local" and settings.llm.model_path is None:
        converted_smollm2_dir(settings)
    if settings.asr.model_path is None:
        assemble_split_model(settings, settings.asr.multilingual_model)
    typer.echo(f"models ready in {settings.cache_dir} ({time.perf_counter() - started:.1f} s)")


@app.command()
def check(role: list[str] = typer.Argument(None, help="Roles to check (default: all)")) -> None:
    """For each role: what it resolved to, size on disk, load time and one real inference."""
    registry = get_registry()
    failed = False
    for name in role or list(PROBES):
        load, probe = PROBES[name]
        started = time.perf_counter()
        try:
            load(registry)
            load_s = time.perf_counter() - started
            record = next(r for (role_name, _), r in registry.records.items() if role_name == name)
            result = probe(registry)
            typer.echo(
                f"{name:<11} ok   {record.source}\n"
                f"{'':<16}size {_size_on_disk(record.source)}, load {load_s:.2f} s, {result}"
            )
        except Exception as exc:  # report every role, then fail
            failed = True
            typer.echo(f"{name:<11} FAIL {type(exc).__name__}: {exc}")
    raise typer.Exit(1 if failed else 0)
