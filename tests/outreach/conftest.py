"""Outreach fixtures: a fresh clinical API world per test (SQLite or PostgreSQL), a real SMTP server
(aiosmtpd), the telephony simulator and a media-stream WebSocket server, all on loopback.

The world (users, departments, patients) comes from the clinical API tests' own helpers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from live_server import LiveServer, free_port
from outreach_helpers import helpers
from sqlalchemy.orm import Session, sessionmaker

from careline.settings import OutreachSettings
from clinical_api.app import create_app
from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.outreach.clock import ManualClock
from clinical_api.outreach.simulator import TelephonySimulator
from clinical_api.outreach.worker import OutreachWorker
from clinical_api.util import utcnow

SID = "AC" + "1" * 32
TOKEN = "sim-auth-token"
QUIET_FROM_H, QUIET_TO_H = 6, 8  # quiet hours: from T0 + 6 h to T0 + 8 h (so T0 itself never is)


class Mailbox:
    """aiosmtpd handler: keeps every accepted message, refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


@dataclass
class MediaStreams:
    """A stand-in for the assistant's /v1/phone/twilio: records the frames of each stream."""

    streams: list[list[dict[str, Any]]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.websocket("/v1/phone/twilio")
        async def phone(ws: WebSocket) -> None:
            await ws.accept()
            frames: list[dict[str, Any]] = []
            self.streams.append(frames)
            try:
                while True:
                    frame = json.loads(await ws.receive_text())
                    frames.append(frame)
                    if frame["event"] == "start":
                        await ws.send_text(json.dumps({"event": "mark", "mark": {"name": "greeting"}}))
                    if frame["event"] == "stop":
                        break
            except WebSocketDisconnect:
                pass
            await ws.close()
            self.done.set()

        return app


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="session")
def media() -> Iterator[tuple[MediaStreams, str]]:
    streams = MediaStreams()
    with LiveServer(streams.app()) as server:
        yield streams, server.url.replace("http://", "ws://") + "/v1/phone/twilio"


@pytest.fixture(scope="session")
def telephony() -> Iterator[tuple[TelephonySimulator, str]]:
    sim = TelephonySimulator(SID, TOKEN)
    with LiveServer(sim.app) as server:
        yield sim, server.url


@dataclass
class World:
    api: Any
    factory: sessionmaker[Session]
    clock: ManualClock
    mailbox: Mailbox
    sim: TelephonySimulator
    media: MediaStreams
    t0: datetime

    def worker(self, name: str = "w1", **overrides: Any) -> OutreachWorker:
        settings = self.api.settings
        if overrides:
            settings = settings.model_copy(
                update={"outreach": settings.outreach.model_copy(update=overrides)}
            )
        return OutreachWorker(settings, self.factory, clock=self.clock, worker_id=name)


def start_time() -> datetime:
    """The test clock starts at real now: answers posted through the API carry real timestamps."""
    return utcnow().replace(second=0, microsecond=0)


def _outreach_settings(
    smtp_port: int, sim_url: str, stream_url: str, t0: datetime, public_url: str
) -> OutreachSettings:
    return OutreachSettings(
        enabled=False,
        smtp_port=smtp_port,
        telephony_url=sim_url,
        telephony_account_sid=SID,
        telephony_auth_token=TOKEN,  # type: ignore[arg-type]
        telephony_timeout_s=2.0,
        assistant_stream_url=stream_url,
        public_url=public_url,
        quiet_start=f"{t0 + timedelta(hours=QUIET_FROM_H):%H:%M}",
        quiet_end=f"{t0 + timedelta(hours=QUIET_TO_H):%H:%M}",
        max_attempts=2,
    )


def open_world(backend: str, tmp: Path, mailbox: Any, media: Any, telephony: Any) -> Iterator[World]:
    box, smtp_port = mailbox
    streams, stream_url = media
    sim, sim_url = telephony
    db = helpers.make_database(backend, tmp)
    settings = helpers.make_settings(tmp, db.url)
    t0 = start_time()
    port = free_port()  # known before the app starts: message links and call callbacks point at it
    outreach = _outreach_settings(smtp_port, sim_url, stream_url, t0, f"http://127.0.0.1:{port}")
    settings = settings.model_copy(update={"outreach": outreach})
    app = create_app(settings)
    engine = make_engine(db.url)
    try:
        with LiveServer(app, port=port) as server:
            api = helpers.Api(url=server.url, settings=settings, backend=db.backend)
            helpers.build_world(api)
            yield World(api, make_sessionmaker(engine), ManualClock(t0), box, sim, streams, t0)
    finally:
        engine.dispose()
        app.state.engine.dispose()
        if db.cleanup:
            db.cleanup()


@pytest.fixture
def world(tmp_path: Path, mailbox: Any, media: Any, telephony: Any) -> Iterator[World]:
    """A fresh SQLite world per test, so planned jobs never leak between tests."""
    yield from open_world("sqlite", tmp_path, mailbox, media, telephony)


@pytest.fixture
def pg_world(tmp_path: Path, mailbox: Any, media: Any, telephony: Any, pg_available: bool) -> Iterator[World]:
    if not pg_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 not reachable")
    yield from open_world("postgres", tmp_path, mailbox, media, telephony)


@pytest.fixture(scope="session")
def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3):
            return True
    except Exception:
        return False
