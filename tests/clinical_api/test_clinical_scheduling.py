"""Free slots, booking, idempotency, reschedule, cancel, and a concurrent booking race."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select

from clinical_api.db import make_engine
from clinical_api.models import Appointment


def test_book_reschedule_cancel(api, helpers):
    a, b = api.ids["patient_a"], api.ids["patient_b"]
    s1, s2 = helpers.make_slots(api, 2)
    with api.client("pat-a") as c:
        free = c.get(
            "/fhir/Slot", params={"status": "free", "schedule": api.ids["schedule"], "_count": 100}
        ).json()
        assert {s1, s2} <= {e["resource"]["id"] for e in free["entry"]}
        r = c.post("/fhir/Appointment", json=helpers.appointment(s1, a))
        assert r.status_code == 201, r.text
        appt = r.json()
        assert appt["status"] == "booked"
        assert appt["extension"][0]["valueUrl"].startswith(api.settings.server.video_base_url)
        assert c.get(f"/fhir/Slot/{s1}").json()["status"] == "busy"
        assert c.post("/fhir/Appointment", json=helpers.appointment(s1, a)).status_code == 409
        # a patient books only for themselves
        assert c.post("/fhir/Appointment", json=helpers.appointment(s2, b)).status_code == 403
        moved = c.post(
            f"/fhir/Appointment/{appt['id']}/$reschedule",
            json={
                "resourceType": "Parameters",
                "parameter": [{"name": "slot", "valueReference": {"reference": f"Slot/{s2}"}}],
            },
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["slot"] == [{"reference": f"Slot/{s2}"}]
        assert c.get(f"/fhir/Slot/{s1}").json()["status"] == "free"
        assert c.get(f"/fhir/Slot/{s2}").json()["status"] == "busy"
        cancelled = c.post(f"/fhir/Appointment/{appt['id']}/$cancel").json()
        assert cancelled["status"] == "cancelled"
        assert c.get(f"/fhir/Slot/{s2}").json()["status"] == "free"
        mine = c.get("/fhir/Appointment", params={"patient": a}).json()
        assert appt["id"] in {e["resource"]["id"] for e in mine["entry"]}
    with api.client("pat-b") as c:
        assert c.get(f"/fhir/Appointment/{appt['id']}").status_code == 403
        # the freed slot can be booked again
        assert c.post("/fhir/Appointment", json=helpers.appointment(s2, b)).status_code == 201


def test_idempotency_key(api, helpers):
    a = api.ids["patient_a"]
    s1, s2 = helpers.make_slots(api, 2)
    key = uuid.uuid4().hex
    with api.client("pat-a") as c:
        first = c.post("/fhir/Appointment", json=helpers.appointment(s1, a), headers={"Idempotency-Key": key})
        again = c.post("/fhir/Appointment", json=helpers.appointment(s1, a), headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        other = c.post("/fhir/Appointment", json=helpers.appointment(s2, a), headers={"Idempotency-Key": key})
        assert other.status_code == 422
        assert c.get(f"/fhir/Slot/{s2}").json()["status"] == "free"
    engine = make_engine(api.settings.database_url)
    with engine.connect() as conn:
        held = conn.scalar(select(func.count()).select_from(Appointment).where(Appointment.slot_id == s1))
    engine.dispose()
    assert held == 1


def test_concurrent_booking_race(api, helpers):
    """8 threads per slot, 5 slots, each thread a different key: exactly one booking per slot."""
    slots = helpers.make_slots(api, 5, day_offset=5)
    a = api.ids["patient_a"]
    barrier = threading.Barrier(40)
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def attempt(slot_id: str) -> None:
        with httpx.Client(
            base_url=api.url, headers={"Authorization": f"Bearer {api.tokens['nurse-cardio']}"}, timeout=60
        ) as c:
            barrier.wait()
            r = c.post(
                "/fhir/Appointment",
                json=helpers.appointment(slot_id, a),
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            with lock:
                results.append((slot_id, r.status_code))

    threads = [threading.Thread(target=attempt, args=(s,)) for s in slots for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = Counter(code for _, code in results)
    assert statuses[201] == 5 and statuses[409] == 35, statuses
    assert Counter(s for s, code in results if code == 201) == Counter(slots)
    engine = make_engine(api.settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Appointment.slot_id, func.count())
            .where(Appointment.slot_id.in_(slots))
            .group_by(Appointment.slot_id)
        ).all()
    engine.dispose()
    assert sorted(n for _, n in rows) == [1] * 5
