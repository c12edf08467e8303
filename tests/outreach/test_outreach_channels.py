"""Phone and e-mail channels against real local servers: the telephony simulator (Twilio REST shape)
opening a media-stream WebSocket, and an aiosmtpd SMTP server. Bad contacts and provider failures."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as email_policy
from typing import Any

import jwt
from outreach_helpers import checkin_plan
from pydantic import SecretStr
from sqlalchemy import select

from careline.settings import OutreachSettings
from clinical_api.outreach.simulator import SimCall
from clinical_api.outreach.tables import OutreachAttempt, OutreachJob
from clinical_api.outreach.telephony import TelephonyAdapter


def _prefs(world: Any, who: str, patient: str, **body: Any) -> None:
    with world.api.client(who) as c:
        r = c.put(f"/outreach/preferences/{patient}", json=body)
        assert r.status_code == 200, r.text


def _job(world: Any) -> OutreachJob:
    with world.factory() as s:
        job = s.scalars(select(OutreachJob)).one()
        return job


def _attempts(world: Any) -> list[OutreachAttempt]:
    with world.factory() as s:
        return list(s.scalars(select(OutreachAttempt).order_by(OutreachAttempt.created, OutreachAttempt.id)))


def _new_call(world: Any, before: set[str]) -> SimCall:
    new = [c for sid, c in world.sim.calls.items() if sid not in before]
    assert len(new) == 1
    assert new[0].done.wait(30), "the simulated call never finished"
    return new[0]


def test_email_checkin_in_chinese_reaches_the_smtp_server(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_b"]
    _prefs(world, "pat-b", pid, channels=["email"], email="b.patient@example.org", language="zh")
    api.create("nurse-onco", checkin_plan(pid, "oncology", [t0]))
    before = len(world.mailbox.messages)
    worker = world.worker()
    worker.plan()
    assert worker.tick().outcomes == {"sent": 1}
    envelope = world.mailbox.messages[before]
    assert envelope.rcpt_tos == ["b.patient@example.org"]
    msg = message_from_bytes(envelope.original_content, policy=email_policy)
    job = _job(world)
    assert msg["Message-ID"] == f"<{job.id}.1.email@careline.outreach>"
    assert msg["Subject"] == "该进行随访了"
    assert f"careline://checkin/{job.payload['careplan']}/0" in msg.get_content()


def test_refused_email_is_retried_by_policy_then_escalated(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_b"]
    _prefs(world, "pat-b", pid, channels=["email"], email="nobody@refused.example")
    api.create("nurse-onco", checkin_plan(pid, "oncology", [t0], hours=24))
    worker = world.worker()
    worker.plan()
    delays = api.settings.outreach.retry_delays_s
    assert worker.tick().outcomes == {"retry": 1}
    assert _job(world).next_at == t0 + timedelta(seconds=delays[0])
    world.clock.advance(seconds=delays[0])
    assert worker.tick().outcomes == {"retry": 1}
    world.clock.advance(seconds=delays[1])
    assert worker.tick().outcomes == {"failed": 1}
    attempts = _attempts(world)
    assert [a.outcome for a in attempts] == ["failed"] * 3
    assert all(a.reason == "e-mail address refused by the SMTP server" for a in attempts)
    with api.client("nurse-onco") as c:
        tasks = c.get("/fhir/Task", params={"patient": pid}).json()["entry"]
    assert tasks[0]["resource"]["code"]["coding"][0]["code"] == "outreach-failed"


def test_invalid_phone_is_recorded_and_the_next_channel_used(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    with api.client("admin") as c:
        patient = c.get(f"/fhir/Patient/{pid}").json()
        patient["telecom"] = [
            {"system": "phone", "value": "555-0100"},  # not E.164
            {"system": "email", "value": "a.patient@example.org"},
        ]
        assert c.put(f"/fhir/Patient/{pid}", json=patient).status_code == 200
    # no stored preferences: the Patient's telecom and the settings' channel order apply
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    worker = world.worker(default_channels=["phone", "email"])
    worker.plan()
    assert worker.tick().outcomes == {"sent": 1}
    attempts = {(a.channel, a.outcome): a.reason for a in _attempts(world)}
    assert attempts[("phone", "skipped")] == "invalid phone number (E.164 required)"
    assert ("email", "sent") in attempts


def test_phone_call_goes_adapter_to_provider_to_media_stream(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    _prefs(world, "pat-a", pid, channels=["phone"], phone="+14155550100")
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0]))
    worker = world.worker()
    worker.plan()
    before = set(world.sim.calls)
    streams_before = len(world.media.streams)
    assert worker.tick().outcomes == {"sent": 1}
    call = _new_call(world, before)
    assert call.status == "completed", call.error
    assert call.to == "+14155550100"
    job = _job(world)
    frames = world.media.streams[streams_before]
    assert [f["event"] for f in frames] == ["connected", "start", "media", "media", "media", "stop"]
    params = frames[1]["start"]["customParameters"]
    assert params["patient_id"] == pid and params["purpose"] == "checkin" and params["job_id"] == job.id
    claims = jwt.decode(
        params["token"], api.settings.security.jwt_secret.get_secret_value(), algorithms=["HS256"]
    )
    assert claims["scope"] == "patient" and claims["pid"] == pid and claims["role"] == "service"
    assert any('"greeting"' in m for m in call.received)  # the stream is two-way
    sent = [a for a in _attempts(world) if a.outcome == "sent"]
    assert sent[0].provider_ref == call.sid


def test_provider_error_timeout_and_bad_credentials_are_recorded_reasons(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    _prefs(world, "pat-a", pid, channels=["phone"], phone="+14155550100")
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0], hours=24))
    worker = world.worker()
    worker.plan()
    delays = api.settings.outreach.retry_delays_s
    world.sim.fail_next.append((503, "carrier unavailable"))
    assert worker.tick().outcomes == {"retry": 1}
    world.clock.advance(seconds=delays[0])
    world.sim.delay_s = 3.0  # longer than telephony_timeout_s
    try:
        assert worker.tick().outcomes == {"retry": 1}
    finally:
        world.sim.delay_s = 0.0
    world.clock.advance(seconds=delays[1])
    assert world.worker(telephony_auth_token=SecretStr("wrong")).tick().outcomes == {"failed": 1}
    reasons = [a.reason for a in _attempts(world)]
    assert reasons == [
        "telephony provider error 503: carrier unavailable",
        "telephony provider timed out",
        "telephony provider error 401: Authenticate",
    ]


def test_quiet_hours_defer_a_call_to_their_end(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    _prefs(
        world,
        "pat-a",
        pid,
        channels=["phone"],
        phone="+14155550100",
        quiet_start=api.settings.outreach.quiet_start,
        quiet_end=api.settings.outreach.quiet_end,
    )
    due = t0 + timedelta(hours=6, minutes=30)  # inside the quiet hours (t0 + 6 h .. t0 + 8 h)
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [due]))
    worker = world.worker()
    worker.plan()
    world.clock.now = due
    before = set(world.sim.calls)
    assert worker.tick().outcomes == {"deferred": 1}
    job = _job(world)
    assert job.next_at == t0 + timedelta(hours=8) and job.reason and job.reason.startswith("quiet hours")
    assert set(world.sim.calls) == before
    world.clock.now = job.next_at
    assert worker.tick().outcomes == {"sent": 1}
    assert _new_call(world, before).status == "completed"


def test_one_attempt_id_places_one_call(telephony, media):
    sim, url = telephony
    _streams, stream_url = media
    cfg = OutreachSettings(
        telephony_url=url,
        telephony_account_sid=sim.account_sid,
        telephony_auth_token=sim.auth_token,  # type: ignore[arg-type]
        assistant_stream_url=stream_url,
    )
    adapter = TelephonyAdapter(cfg)
    first = adapter.call("+861380013800", {"purpose": "reminder"}, "job-x:1:phone")
    again = adapter.call("+861380013800", {"purpose": "reminder"}, "job-x:1:phone")
    bad = adapter.call("0800 123", {"purpose": "reminder"}, "job-y:1:phone")
    adapter.close()
    assert first.ok and again.ok and first.sid == again.sid
    assert sim.calls[first.sid].done.wait(30)
    assert (
        not bad.ok
        and bad.reason == "telephony provider error 400: The 'To' number is not a valid phone number."
    )


def test_an_unanswered_call_is_reported_by_the_provider_and_retried_at_once(world):
    api, t0 = world.api, world.t0
    pid = api.ids["patient_a"]
    _prefs(world, "pat-a", pid, channels=["phone"], phone="+14155550100")
    api.create("doctor-cardio", checkin_plan(pid, "cardiology", [t0], hours=24))
    worker = world.worker()
    worker.plan()
    world.sim.next_outcomes.append("no-answer")
    before = set(world.sim.calls)
    assert worker.tick().outcomes == {"sent": 1}
    call = _new_call(world, before)
    assert call.status == "no-answer" and call.callback_status == 200
    assert [(a.outcome, a.reason) for a in _attempts(world)] == [("failed", "call no-answer")]
    world.clock.advance(minutes=2)  # well before answer_wait_s: the report made the job due again
    before = set(world.sim.calls)
    assert worker.tick().outcomes == {"sent": 1}
    assert _new_call(world, before).status == "completed"
    with api.client("nurse-cardio") as c:
        comms = c.get("/fhir/Communication", params={"patient": pid}).json()["entry"]
    reasons = {(e["resource"]["status"], e["resource"].get("statusReason", {}).get("text")) for e in comms}
    assert ("not-done", "call no-answer") in reasons


def test_forged_call_status_reports_are_refused(world):
    with world.api.client() as c:
        r = c.post(
            "/outreach/telephony/status",
            params={"attempt": "x:1:phone", "sig": "0" * 32},
            data={"CallSid": "CA1", "CallStatus": "no-answer"},
        )
    assert r.status_code == 403
