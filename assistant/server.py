"""The assistant's HTTP/WebSocket server: a thin layer over the dialogue, the channels and voice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from assistant import api, text_channel, voice_channel, web_config
from assistant.services import AssistantServices, build_services, preload_models
from careline.observability import install_observability
from careline.settings import Settings

STATIC_DIR = Path(__file__).with_name("static")


def create_app(
    settings: Settings, services: AssistantServices | None = None, *, preload: bool = True
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = services or build_services(settings)
        app.state.services = built
        if preload:
            await preload_models(built.registry)
        try:
            yield
        finally:
            await built.close()

    app = FastAPI(title="Careline assistant", version="1", lifespan=lifespan)
    app.state.settings = settings

    async def readiness() -> dict[str, str]:
        services_now: AssistantServices | None = getattr(app.state, "services", None)
        if services_now is None:
            return {"services": "starting"}
        registry = services_now.registry
        checks = {
            role: "ok" if registry.is_loaded(role, variant) else "loading"
            for role, variant in (("llm", "default"), ("embeddings", "default"), ("vad", "default"))
        }
        checks["asr"] = "ok" if any(r == "asr" for r, _ in registry.records) else "loading"
        checks["tts"] = "ok" if any(r == "tts" for r, _ in registry.records) else "loading"
        count = int(getattr(services_now.knowledge, "stats")().get("chunks", 0))  # noqa: B009
        checks["knowledge_base"] = "ok" if count > 0 else "empty"
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"{settings.clinical_url}/healthz")
            checks["clinical_api"] = "ok" if response.status_code == 200 else f"status {response.status_code}"
        except httpx.HTTPError:
            checks["clinical_api"] = "unreachable"
        return checks

    install_observability(app, "assistant", readiness)
    app.include_router(api.router)
    app.include_router(text_channel.router)
    web_config.install(app)  # /v1/config for the web pages; no-store on /v1
    app.include_router(voice_channel.router)
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
