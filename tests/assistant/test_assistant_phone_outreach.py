"""A due follow-up check-in becomes a phone call that the real assistant answers.

The outreach worker asks the (local, Twilio-shaped) provider for a call; the provider "connects" and
opens the assistant's media stream with the patient-scoped token; the assistant speaks the check-in
prompt in μ-law; the callee's marks confirm playback; the heard words land in the transcript on the
patient's record.
"""

from __future__ import annotations

from datetime import timedelta

from assistant_world import World
from live_server import LiveServer
from pydantic import SecretStr

from assistant.transcripts import decode_transcript
from careline.settings import OutreachSettings
from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.outreach.simulator import TelephonySimulator
from clinical_api.outreach.worker import OutreachWorker
from clinical_api.seed import care_plan
from clinical_api.util import utcnow

SID, AUTH = "ACe2e0000000000000000000000000000", "e2e-telephony-token"


def test_a_due_checkin_calls_the_patient_and_the_assistant_speaks_it(world: World) -> None:
    with world.clinical("patient-2") as patient:
        patient_id = patient.get("/fhir/Patient").json()["entry"][0]["resource"]["id"]
        prefs = {"channels": ["phone"], "phone": "+14155550123", "language": "en"}
        assert patient.put(f"/outreach/preferences/{patient_id}", json=prefs).status_code == 200
    with world.clinical("doctor-oncology") as doctor:
        plan = care_plan(patient_id, "oncology", [utcnow() - timedelta(minutes=1)])
        assert doctor.post("/fhir/CarePlan", json=plan).status_code == 201

    simulator = TelephonySimulator(SID, AUTH, media_frames=1, listen_s=20.0)
    with LiveServer(simulator.app) as provider:
        outreach = OutreachSettings(
            enabled=False,
            telephony_url=provider.url,
            telephony_account_sid=SID,
            telephony_auth_token=SecretStr(AUTH),
            assistant_stream_url=world.assistant_url.replace("http://", "ws://") + "/v1/phone/twilio",
            public_url=world.clinical_url,
        )
        settings = world.settings.model_copy(update={"outreach": outreach})
        engine = make_engine(settings.database_url)
        worker = OutreachWorker(settings, make_sessionmaker(engine), worker_id="e2e")
        worker.plan()
        assert worker.tick().outcomes.get("sent") == 1
        (call,) = simulator.calls.values()
        assert call.done.wait(90)
        engine.dispose()

    assert call.status == "completed", call.error
    assert call.to == "+14155550123" and call.parameters["purpose"] == "checkin"
    spoken = [m for m in call.received if '"event": "media"' in m or '"event":"media"' in m]
    assert len(spoken) > 50  # over a second of the assistant's voice, in 20 ms μ-law frames
    with world.clinical("doctor-oncology") as doctor:
        documents = doctor.get("/fhir/DocumentReference", params={"patient": patient_id, "_count": 50}).json()
    transcripts = [
        decode_transcript(entry["resource"])
        for entry in documents.get("entry", [])
        if "Careline assistant session" in entry["resource"].get("description", "")
    ]
    heard = [turn for turns in transcripts for turn in turns if turn["channel"] == "voice"]
    assert heard and heard[0]["role"] == "assistant" and "check-in" in heard[0]["text"]
