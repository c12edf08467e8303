"""Starts both servers as child processes, reports where they are, and stops them cleanly.

Two processes, not one: the clinical API is a separate service with its own
database and must not share a failure domain (or a GIL) with speech models.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from careline.errors import ConfigError
from careline.logging import configure_logging
from careline.readiness import NotReady, wait_until_ready
from careline.settings import Settings, get_settings

READY_TIMEOUT_S = 600.0


def _check_database(settings: Settings) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(
            "CARELINE_DATABASE__URL",
            f"cannot reach the database ({type(exc).__name__})",
            "start the database server or correct the URL (empty means embedded SQLite)",
        ) from None


def run_clinical_api() -> None:
    import uvicorn

    from clinical_api.app import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    _check_database(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.clinical_port,
        log_config=None,
        timeout_graceful_shutdown=15,
    )


def run_assistant() -> None:
    import uvicorn

    from assistant.server import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.assistant_port,
        log_config=None,
        timeout_graceful_shutdown=15,
        ws_max_size=4 * 1024 * 1024,
    )


def _wait_ready(name: str, url: str, child: subprocess.Popen[bytes], deadline: float) -> None:
    try:
        wait_until_ready(f"{url}/readyz", child, max(1.0, deadline - time.monotonic()))
    except NotReady as exc:
        raise SystemExit(f"careline: the {name} is not ready: {exc}; see the log above.") from None


def serve_all() -> None:
    settings = get_settings()
    host = settings.server.host
    children: list[subprocess.Popen[bytes]] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    env = dict(os.environ)
    clinical_url = f"http://{host}:{settings.server.clinical_port}"
    assistant_url = f"http://{host}:{settings.server.assistant_port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        clinical = subprocess.Popen([sys.executable, "-m", "careline", "serve-clinical"], env=env)
        children.append(clinical)
        _wait_ready("clinical API", clinical_url, clinical, deadline)
        print(f"careline: clinical API ready at {clinical_url}  (docs {clinical_url}/docs)", flush=True)
        assistant = subprocess.Popen([sys.executable, "-m", "careline", "serve-assistant"], env=env)
        children.append(assistant)
        _wait_ready("assistant", assistant_url, assistant, deadline)
        print(f"careline: assistant ready at {assistant_url}  (patient app {assistant_url}/)", flush=True)
        print("careline: press Ctrl+C to stop", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
