"""What browsers need from both servers: CORS for the consoles, and no caching of private responses.

The consoles are served by the assistant and call the clinical API from the browser, so the clinical
API names the console origins it accepts. Every API answer can hold patient data, so it is marked
`Cache-Control: no-store`: nothing private stays in the browser's HTTP cache after sign-out.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key", "Accept")
EXPOSED_HEADERS = ("ETag", "Location", "Content-Location")


class NoStoreMiddleware:
    """Adds `Cache-Control: no-store` to HTTP responses under `prefixes` that set no caching policy."""

    def __init__(self, app: ASGIApp, prefixes: Sequence[str] = ("/",)) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)


def install_browser_policy(
    app: FastAPI, *, origins: Sequence[str] = (), no_store_prefixes: Sequence[str] = ("/",)
) -> None:
    """Call after the other middleware so CORS is outermost and error answers carry its headers too."""
    app.add_middleware(NoStoreMiddleware, prefixes=no_store_prefixes)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=list(CORS_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=600,
        )
