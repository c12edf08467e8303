"""The clinical API test world: databases (SQLite, PostgreSQL schema per run), users, patients, slots.

Shared by the clinical API, imaging, video, outreach and web tests (imported by this unique name).

Each PostgreSQL run gets its own schema (dropped afterwards), so parallel runs never collide.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from careline.settings import DatabaseSettings, SecuritySettings, ServerSettings, Settings
from clinical_api.auth import create_user
from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.scheduling import slot_resource

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "test-password-1"
MAX_BODY = 200_000


@dataclass
class Database:
    backend: str
    url: str
    cleanup: Any = None


def pg_schema_url(schema: str) -> str:
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


def pg_is_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3):
            return True
    except Exception:
        return False


def make_database(backend: str, tmp: Path) -> Database:
    if backend == "sqlite":
        return Database("sqlite", f"sqlite:///{tmp / 'clinical.db'}")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return Database("postgres", pg_schema_url(schema), drop)


def make_settings(tmp: Path, url: str, **security: Any) -> Settings:
    return Settings(
        data_dir=tmp,
        database=DatabaseSettings(url=url),
        server=ServerSettings(max_body_bytes=MAX_BODY, max_upload_bytes=1_000_000),
        security=SecuritySettings(**security),
        log_level="WARNING",
    )


@dataclass
class Api:
    """A running server plus signed-in clients and the ids of the test world."""

    url: str
    settings: Settings
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        if who is not None:
            token = self.tokens[who]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def login(self, username: str, password: str = PASSWORD) -> str:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            r = c.post("/auth/token", data={"username": username, "password": password})
            r.raise_for_status()
            return str(r.json()["access_token"])

    def create(self, who: str, resource: dict[str, Any]) -> dict[str, Any]:
        with self.client(who) as c:
            r = c.post(f"/fhir/{resource['resourceType']}", json=resource)
            assert r.status_code == 201, r.text
            return dict(r.json())


def patient_body(dept: str, mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:hospital:a", "value": mrn},
            {"system": "urn:hospital:b", "value": f"B{mrn}"},
        ],
        "name": [{"family": "Test", "given": ["Person"]}],
        "managingOrganization": {"reference": f"Organization/{dept}"},
    }


def build_world(api: Api) -> None:
    """Departments, two patients (cardiology, oncology) and a user per role."""
    factory = make_sessionmaker(make_engine(api.settings.database_url))
    with factory() as s:
        create_user(s, username="admin", password=PASSWORD, role="admin")
        create_user(s, username="nurse-cardio", password=PASSWORD, role="nurse", department="cardiology")
        create_user(s, username="doctor-cardio", password=PASSWORD, role="doctor", department="cardiology")
        create_user(s, username="nurse-onco", password=PASSWORD, role="nurse", department="oncology")
        s.commit()
    api.tokens["admin"] = api.login("admin")
    for dept in ("cardiology", "oncology"):
        with api.client("admin") as c:
            r = c.put(f"/fhir/Organization/{dept}", json={"resourceType": "Organization", "name": dept})
            assert r.status_code in (200, 201), r.text
    api.ids["patient_a"] = api.create("admin", patient_body("cardiology", f"A{uuid.uuid4().hex[:8]}"))["id"]
    api.ids["patient_b"] = api.create("admin", patient_body("oncology", f"A{uuid.uuid4().hex[:8]}"))["id"]
    with factory() as s:
        create_user(s, username="pat-a", password=PASSWORD, role="patient", patient_id=api.ids["patient_a"])
        create_user(s, username="pat-b", password=PASSWORD, role="patient", patient_id=api.ids["patient_b"])
        s.commit()
    factory.kw["bind"].dispose()
    for who in ("nurse-cardio", "doctor-cardio", "nurse-onco", "pat-a", "pat-b"):
        api.tokens[who] = api.login(who)
    api.tokens["service"] = api.login("assistant", "assistant-dev-password")
    schedule = api.create(
        "admin",
        {
            "resourceType": "Schedule",
            "active": True,
            "specialty": [{"coding": [{"code": "cardiology"}]}],
            "actor": [{"display": "cardiology video clinic"}],
        },
    )
    api.ids["schedule"] = schedule["id"]


def make_slots(api: Api, n: int, day_offset: int = 3) -> list[str]:
    """`n` new free 30-minute slots on the test schedule, starting `day_offset` days from now."""
    import datetime as dt

    base = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
        days=day_offset, minutes=uuid.uuid4().int % 10_000
    )
    ids = []
    with api.client("admin") as c:
        for i in range(n):
            start = base + dt.timedelta(minutes=30 * i)
            r = c.post("/fhir/Slot", json=slot_resource(api.ids["schedule"], start))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def appointment(slot_id: str, patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
