"""Consult helpers shared by the video tests (a plain module, so test files can import it by name).

The test world (users, patients, departments) comes from tests/clinical_world.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import clinical_world as world

from clinical_api.scheduling import slot_resource

Api = world.Api
PASSWORD = world.PASSWORD


def book(api: Any, start_in_s: int = 120, minutes: int = 30, patient: str = "patient_a") -> str:
    """A booked appointment for `patient` starting `start_in_s` from now; its id."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=start_in_s)
    with api.client("admin") as c:
        r = c.post("/fhir/Slot", json=slot_resource(api.ids["schedule"], start, minutes))
        assert r.status_code == 201, r.text
        slot = r.json()["id"]
    with api.client("nurse-cardio") as c:
        r = c.post("/fhir/Appointment", json=world.appointment(slot, api.ids[patient]))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def open_room(api: Any, appointment: str, who: str = "doctor-cardio") -> dict[str, Any]:
    with api.client(who) as c:
        r = c.post("/video/rooms", json={"appointment": appointment})
        assert r.status_code in (200, 201), r.text
        return dict(r.json())


def join_token(api: Any, room: str, who: str, user: str | None = None) -> dict[str, Any]:
    """A join token issued by `who` for themselves, or for `user` (an invite)."""
    with api.client(who) as c:
        r = c.post(f"/video/rooms/{room}/tokens", json={"user": user} if user else None)
        assert r.status_code == 201, r.text
        return dict(r.json())


def ws_url(api: Any, room: str) -> str:
    return api.url.replace("http://", "ws://") + f"/video/rooms/{room}/signal"


def audited(api: Any, patient: str, code: str, entity: str, expect: int = 0) -> list[tuple[str, str]]:
    """(interaction, username) of successful AuditEvents `code` about `entity` in `patient`'s log.

    Joins and leaves are written just after their socket opens or closes, so with `expect` it waits (up
    to ~5 s) until that many are there.
    """
    import time

    for _ in range(50):
        with api.client("admin") as c:
            r = c.get("/fhir/AuditEvent", params={"patient": patient, "code": code, "_count": 100})
        assert r.status_code == 200, r.text
        found = [
            (e["resource"]["subtype"][0]["code"], e["resource"]["agent"][0]["who"]["identifier"]["value"])
            for e in r.json().get("entry", [])
            if {"what": {"reference": entity}} in e["resource"].get("entity", [])
            and e["resource"]["outcome"] == "0"
        ]
        if len(found) >= expect:
            return found
        time.sleep(0.1)
    return found
