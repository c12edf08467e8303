"""The HTTP side: the notification centre (list, live stream, mark read), preferences, appointment
reminders with one-tap links, the record and audit trail, and the scheduler in the API's lifespan."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from live_server import LiveServer
from outreach_helpers import checkin_plan, helpers
from sqlalchemy import select

from clinical_api.app import create_app
from clinical_api.outreach.tables import OutreachJob
from clinical_api.scheduling import Slot


def _book(world: Any, slot_id: str) -> dict[str, Any]:
    with world.api.client("pat-a") as c:
        r = c.post("/fhir/Appointment", json=helpers.appointment(slot_id, world.api.ids["patient_a"]))
        assert r.status_code == 201, r.text
        return dict(r.json())


def _slot_start(world: Any, slot_id: str) -> Any:
    with world.factory() as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None
        return slot.start


def _reminders(world: Any) -> list[OutreachJob]:
    with world.factory() as s:
        return list(
            s.scalars(select(OutreachJob).where(OutreachJob.kind == "reminder").order_by(OutreachJob.due_at))
        )


def test_notifications_are_the_patients_own_and_can_be_marked_read(world):
    api, t0 = world.api, world.t0
    api.create("doctor-cardio", checkin_plan(api.ids["patient_a"], "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    worker.tick()
    with api.client("pat-a") as c:
        [item] = c.get("/outreach/notifications", params={"unread": "true"}).json()["notifications"]
        read = c.post(f"/outreach/notifications/{item['id']}/read")
        assert read.status_code == 200 and read.json()["read"] is True
        assert c.get("/outreach/notifications", params={"unread": "true"}).json()["notifications"] == []
    with api.client("pat-b") as c:
        assert c.get("/outreach/notifications").json()["notifications"] == []
        assert c.post(f"/outreach/notifications/{item['id']}/read").status_code == 404
    with api.client("nurse-cardio") as c:
        assert c.get("/outreach/notifications").status_code == 403
    with api.client() as c:
        assert c.get("/outreach/notifications").status_code == 401


def test_the_stream_delivers_a_new_notification_live(world):
    api, t0 = world.api, world.t0
    api.create("doctor-cardio", checkin_plan(api.ids["patient_a"], "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    headers = {"Authorization": f"Bearer {api.tokens['pat-a']}"}
    with (
        httpx.Client(base_url=api.url, headers=headers, timeout=20) as c,
        c.stream("GET", "/outreach/notifications/stream") as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines) == ": subscribed"
        assert worker.tick().outcomes == {"sent": 1}  # written after the subscription
        event = data = None
        for line in lines:
            if line.startswith("event: "):
                event = line[7:]
            if line.startswith("data: "):
                data = json.loads(line[6:])
                break
    assert event == "notification"
    assert data is not None and data["link"]["action"] == "checkin" and data["kind"] == "checkin"


def test_preferences_are_validated_and_limited_to_who_reaches_the_patient(world):
    api = world.api
    pid = api.ids["patient_a"]
    with api.client("pat-a") as c:
        bad = c.put(f"/outreach/preferences/{pid}", json={"phone": "555-0100"})
        assert bad.status_code == 400 and "E.164" in bad.text
        assert c.put(f"/outreach/preferences/{pid}", json={"timezone": "Mars/Base"}).status_code == 400
        assert c.put(f"/outreach/preferences/{pid}", json={"quiet_start": "25:00"}).status_code == 400
        assert c.put(f"/outreach/preferences/{pid}", json={"channels": ["fax"]}).status_code == 400
        ok = c.put(
            f"/outreach/preferences/{pid}",
            json={
                "channels": ["email", "app"],
                "email": "a@example.org",
                "language": "zh",
                "timezone": "Asia/Shanghai",
            },
        )
        assert ok.status_code == 200
        assert c.get(f"/outreach/preferences/{pid}").json()["channels"] == ["email", "app"]
        assert c.get(f"/outreach/preferences/{api.ids['patient_b']}").status_code == 403
    with api.client("nurse-onco") as c:
        assert c.put(f"/outreach/preferences/{pid}", json={}).status_code == 403
    with api.client("admin") as c:  # the refusal is on the audit log
        denied = c.get("/fhir/AuditEvent", params={"patient": pid, "agent": "nurse-onco", "status": "8"})
        assert denied.json()["total"] == 1
    with api.client("nurse-cardio") as c:
        assert c.get(f"/outreach/preferences/{pid}").json()["language"] == "zh"


def test_reminders_follow_the_appointment_and_carry_preparation_and_one_tap_links(world):
    api = world.api
    slots = helpers.make_slots(api, 3)
    appt = _book(world, slots[0])
    start = _slot_start(world, slots[0])
    worker = world.worker()
    assert worker.plan() == 2
    first, second = _reminders(world)
    assert (start - first.due_at, start - second.due_at) == (timedelta(hours=24), timedelta(hours=1))

    world.clock.now = first.due_at
    assert worker.tick().outcomes == {"sent": 1}
    with api.client("pat-a") as c:
        [note] = c.get("/outreach/notifications").json()["notifications"]
    assert "medication list" in note["body"]  # preparation text of the video-consult service type
    link = note["link"]
    assert link["action"] == "appointment" and link["appointment"] == appt["id"]
    assert link["view"].startswith(f"{api.url}/outreach/a/")
    path = link["view"].removeprefix(api.url)

    with httpx.Client(base_url=api.url, timeout=30) as anonymous:  # the link is the only credential
        view = anonymous.get(path)
        assert view.status_code == 200
        assert slots[1] in {s["id"] for s in view.json()["free_slots"]}
        moved = anonymous.post(f"{path}/reschedule", json={"slot": slots[1]})
        assert moved.status_code == 200, moved.text
        assert moved.json()["appointment"]["slot"] == [{"reference": f"Slot/{slots[1]}"}]
        assert anonymous.get(path[:-3] + "xyz").status_code == 404

    world.clock.now = first.due_at + timedelta(minutes=1)
    worker.plan()
    jobs = _reminders(world)
    old_second = next(j for j in jobs if j.id == second.id)
    assert old_second.status == "cancelled" and old_second.reason == "appointment moved or cancelled"
    assert sum(1 for j in jobs if j.status == "pending") == 2  # the new 24 h and 1 h reminders

    with httpx.Client(base_url=api.url, timeout=30) as anonymous:
        cancelled = anonymous.post(f"{path}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["appointment"]["status"] == "cancelled"
    worker.plan()
    assert all(j.status in ("sent", "cancelled") for j in _reminders(world))


def test_a_reminder_after_the_appointment_start_is_dropped_as_missed(world):
    api = world.api
    slots = helpers.make_slots(api, 1)
    _book(world, slots[0])
    worker = world.worker()
    worker.plan()
    world.clock.now = _slot_start(world, slots[0]) + timedelta(minutes=1)
    assert worker.tick().outcomes == {"missed": 2}
    with api.client("nurse-cardio") as c:
        assert c.get("/fhir/Task", params={"patient": api.ids["patient_a"]}).json()["total"] == 0
        comms = c.get("/fhir/Communication", params={"patient": api.ids["patient_a"]}).json()["entry"]
    assert all(e["resource"]["status"] == "not-done" for e in comms) and len(comms) == 2


def test_outreach_is_on_the_record_and_audited(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    worker.tick()
    with api.client("nurse-onco") as c:  # another department's nurse sees none of it
        assert c.get("/fhir/Communication", params={"patient": pid}).json()["total"] == 0
    with api.client("pat-a") as c:
        comms = c.get("/fhir/Communication", params={"patient": pid}).json()["entry"]
        jobs = c.get("/outreach/jobs", params={"patient": pid}).json()["jobs"]
    assert len(comms) == 1 and comms[0]["resource"]["identifier"][0]["value"] == f"{jobs[0]['id']}:1:app"
    assert jobs[0]["status"] == "awaiting" and jobs[0]["attempts"][0]["outcome"] == "sent"
    with api.client("admin") as c:
        events = c.get("/fhir/AuditEvent", params={"agent": "outreach-worker"}).json()["entry"]
    refs = {e["what"]["reference"] for ev in events for e in ev["resource"].get("entity", [])}
    assert f"Communication/{comms[0]['resource']['id']}" in refs


def test_the_api_runs_the_scheduler_in_its_lifespan_when_enabled(tmp_path):
    db = helpers.make_database("sqlite", tmp_path)
    settings = helpers.make_settings(tmp_path, db.url)
    settings = settings.model_copy(
        update={"outreach": settings.outreach.model_copy(update={"enabled": True, "poll_interval_s": 3600})}
    )
    app = create_app(settings)
    with LiveServer(app):
        scheduler = app.state.outreach_scheduler
        assert scheduler.running
        assert {j.id for j in scheduler.get_jobs()} == {"outreach-plan", "outreach-tick"}
    assert not scheduler.running
    app.state.engine.dispose()


def test_fuzzed_outreach_requests_never_cause_a_server_error(world):
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{world.api.url}/openapi.json").include(path_regex="^/outreach")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for i, operation in enumerate(operations):
        _fuzz(operation, world.api.tokens[("pat-a", "nurse-cardio", "admin")[i % 3]])


def _fuzz(operation: Any, token: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

    run()
