"""Shared by the clinical API benchmarks: a live server on loopback over SQLite or PostgreSQL."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from careline.settings import DatabaseSettings, Settings
from clinical_api.app import create_app
from clinical_api.auth import create_user
from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.scheduling import slot_resource

PG = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-password"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(backend: str) -> Iterator[tuple[str, Settings]]:
    """A migrated database (temporary SQLite file or a fresh PostgreSQL schema) behind uvicorn."""
    tmp = Path(tempfile.mkdtemp(prefix="clinical-bench-"))
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    settings = Settings(data_dir=tmp, database=DatabaseSettings(url=url), log_level="WARNING")
    app = create_app(settings)
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, limit_concurrency=2000
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()
        if schema:
            import psycopg

            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def setup_world(url: str, settings: Settings, n_slots: int) -> dict[str, Any]:
    """An admin and a nurse, one cardiology patient, a schedule with `n_slots` free slots."""
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as s:
        create_user(s, username="admin", password=PASSWORD, role="admin")
        create_user(s, username="nurse", password=PASSWORD, role="nurse", department="cardiology")
        s.commit()
    factory.kw["bind"].dispose()

    def login(user: str) -> str:
        r = httpx.post(f"{url}/auth/token", data={"username": user, "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])

    admin, nurse = login("admin"), login("nurse")
    h = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, headers=h) as c:
        c.put("/fhir/Organization/cardiology", json={"resourceType": "Organization", "name": "Cardiology"})
        patient = c.post(
            "/fhir/Patient",
            json={
                "resourceType": "Patient",
                "managingOrganization": {"reference": "Organization/cardiology"},
            },
        ).json()["id"]
        schedule = c.post(
            "/fhir/Schedule",
            json={
                "resourceType": "Schedule",
                "specialty": [{"coding": [{"code": "cardiology"}]}],
                "actor": [{"display": "clinic"}],
            },
        ).json()["id"]
        base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        slots = []
        for i in range(n_slots):
            start = base + timedelta(minutes=30 * i)
            r = c.post("/fhir/Slot", json=slot_resource(schedule, start))
            slots.append(r.json()["id"])
    return {"admin": admin, "nurse": nurse, "patient": patient, "slots": slots}


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG, connect_timeout=3):
            return True
    except Exception:
        return False


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
