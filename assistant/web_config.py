"""What the web pages learn from the assistant before anything else: where the clinical API is.

The consoles are static files; they read this once at start instead of hard-coding URLs, so the
same pages work on any deployment. Nothing here is private.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request

from careline.browser import install_browser_policy
from careline.settings import Settings

router = APIRouter(prefix="/v1", tags=["web"])
WEB_CONFIG_VERSION = 1


@router.get("/config")
def web_config(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return {
        "version": WEB_CONFIG_VERSION,
        "clinical_url": settings.clinical_url,
        "idle_timeout_s": settings.server.web_idle_timeout_s,
        "languages": ["en", "zh"],
    }


def install(app: FastAPI) -> None:
    """The config route, and no caching of the assistant's API answers (sessions hold transcripts)."""
    app.include_router(router)
    install_browser_policy(app, no_store_prefixes=("/v1/",))
