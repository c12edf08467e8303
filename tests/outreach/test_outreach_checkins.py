"""Check-ins end to end on the worker: planning, in-app delivery, answers, retries, missed windows,
clock jumps, unreachable patients and leases. The clock is injected; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from outreach_helpers import bare_patient, checkin_plan
from sqlalchemy import func, select

from clinical_api.outreach.queue import claim
from clinical_api.outreach.tables import OutreachJob, OutreachNotification


def _jobs(world: Any) -> list[OutreachJob]:
    with world.factory() as s:
        return list(s.scalars(select(OutreachJob).order_by(OutreachJob.due_at)))


def _search(world: Any, who: str, rtype: str, **params: str) -> list[dict[str, Any]]:
    with world.api.client(who) as c:
        r = c.get(f"/fhir/{rtype}", params={"_count": "100", **params})
        assert r.status_code == 200, r.text
        return [e["resource"] for e in r.json().get("entry", [])]


def _outcome(comm: dict[str, Any]) -> str:
    return next(
        c["coding"][0]["code"] for c in comm["category"] if c["coding"][0]["system"].endswith("-outcome")
    )


def test_checkin_planned_once_sent_in_app_and_answered(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    plan = api.create(
        "doctor-cardio", checkin_plan(pid, "cardiology", [t0 - timedelta(minutes=1), t0 + timedelta(days=7)])
    )
    worker = world.worker()
    assert worker.plan() == 2
    assert worker.plan() == 0  # re-planning never duplicates
    assert world.worker("w2").plan() == 0
    assert worker.tick().outcomes == {"sent": 1}
    assert worker.tick().claimed == 0  # nothing else is due

    with api.client("pat-a") as c:
        items = c.get("/outreach/notifications").json()["notifications"]
    assert len(items) == 1
    assert items[0]["link"] == {"action": "checkin", "careplan": plan["id"], "activity": 0}
    assert "How have you been feeling" in items[0]["body"]

    obs = api.create(
        "pat-a",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "pain score"},
            "subject": {"reference": f"Patient/{pid}"},
            "valueInteger": 3,
        },
    )
    world.clock.advance(seconds=api.settings.outreach.answer_wait_s)
    assert worker.tick().outcomes == {"answered": 1}
    job = _jobs(world)[0]
    assert job.status == "answered" and job.sends == 1

    comms = _search(world, "nurse-cardio", "Communication", patient=pid)
    by_outcome = {_outcome(c): c for c in comms}
    assert set(by_outcome) == {"sent", "answered"}
    assert by_outcome["sent"]["medium"][0]["text"] == "app"
    assert {"reference": f"Observation/{obs['id']}"} in by_outcome["answered"]["about"]
    assert by_outcome["answered"]["basedOn"] == [{"reference": f"CarePlan/{plan['id']}"}]


def test_unanswered_checkin_is_retried_then_a_nurse_task_is_raised(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    plan = api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0], hours=24))
    worker = world.worker()
    worker.plan()
    assert worker.tick().outcomes == {"sent": 1}
    world.clock.advance(seconds=api.settings.outreach.answer_wait_s)
    assert worker.tick().outcomes == {"sent": 1}  # second attempt (max_attempts = 2)
    world.clock.advance(seconds=api.settings.outreach.answer_wait_s)
    assert worker.tick().outcomes == {"unanswered": 1}

    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutreachNotification)) == 2
    tasks = _search(world, "nurse-cardio", "Task", patient=pid)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["code"]["coding"][0]["code"] == "outreach-unanswered"
    assert task["owner"] == {"reference": "Organization/cardiology"}
    assert task["focus"] == {"reference": f"CarePlan/{plan['id']}"}
    comms = _search(world, "nurse-cardio", "Communication", patient=pid)
    unanswered = [c for c in comms if _outcome(c) == "unanswered"]
    assert unanswered[0]["about"] == [{"reference": f"Task/{task['id']}"}]
    assert "no answer after 2 attempt(s)" in unanswered[0]["statusReason"]["text"]


def test_clock_jump_forward_catches_up_inside_the_window_and_marks_the_rest_missed(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0 - timedelta(minutes=5)], hours=1))
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0 + timedelta(minutes=30)], hours=12))
    worker = world.worker()
    worker.plan()
    world.clock.advance(hours=2)  # e.g. the host was down, or its clock jumped
    assert worker.tick().outcomes == {"missed": 1, "sent": 1}
    missed, caught_up = _jobs(world)
    assert missed.status == "missed" and "past the window end" in (missed.reason or "")
    assert caught_up.status == "awaiting"
    tasks = _search(world, "nurse-cardio", "Task", patient=pid)
    assert [t["code"]["coding"][0]["code"] for t in tasks] == ["outreach-missed"]


def test_clock_jump_backward_sends_nothing_twice(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    assert worker.tick().outcomes == {"sent": 1}
    world.clock.advance(days=-1)
    stats = worker.tick()
    assert stats.clock_jumps == 1 and stats.claimed == 0
    world.clock.advance(days=1)
    assert worker.tick().claimed == 0
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutreachNotification)) == 1


def test_patient_with_no_reachable_channel_is_escalated_with_the_reasons(world):
    api, t0 = world.api, world.t0
    patient = api.create("admin", bare_patient("cardiology"))  # no app account, no phone, no e-mail
    api.create("doctor-cardio", checkin_plan(patient["id"], "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    assert worker.tick().outcomes == {"unreachable": 1}
    job = _jobs(world)[0]
    assert job.status == "failed"
    for reason in ("app: no app account", "phone: no phone number", "email: no e-mail address"):
        assert reason in (job.reason or "")
    tasks = _search(world, "nurse-cardio", "Task", patient=patient["id"])
    assert tasks[0]["code"]["coding"][0]["code"] == "outreach-unreachable"
    comm = _search(world, "nurse-cardio", "Communication", patient=patient["id"])[0]
    assert comm["status"] == "not-done" and "no reachable channel" in comm["statusReason"]["text"]


def test_a_dead_workers_lease_expires_and_the_job_runs_exactly_once_more(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    dead, alive = world.worker("dead"), world.worker("alive")
    dead.plan()
    with world.factory() as s:
        held = claim(s, "dead", world.clock(), 10, api.settings.outreach.lease_s)
        s.commit()
    assert len(held) == 1
    assert alive.tick().claimed == 0  # the lease still holds
    world.clock.advance(seconds=api.settings.outreach.lease_s + 1)
    assert alive.tick().outcomes == {"sent": 1}
    assert dead.process(held[0]) == "lost"  # the fence stops the late worker
    job = _jobs(world)[0]
    assert job.lease_expiries == 1 and job.claims == 2 and job.sends == 1
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutreachNotification)) == 1


def test_a_job_that_keeps_killing_workers_is_failed_and_escalated(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    lease = api.settings.outreach.lease_s
    for name in ("a", "b"):
        with world.factory() as s:
            assert len(claim(s, name, world.clock(), 10, lease)) == 1
            s.commit()
        world.clock.advance(seconds=lease + 1)
    assert worker.tick().outcomes == {"failed": 1}
    assert "worker stopped" in (_jobs(world)[0].reason or "")
    tasks = _search(world, "nurse-cardio", "Task", patient=pid)
    assert tasks[0]["code"]["coding"][0]["code"] == "outreach-failed"
