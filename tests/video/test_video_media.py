"""Two real aiortc peers meet through the signalling socket and exchange real audio and video frames;
ending the consult files an Encounter; joins and leaves are in the audit log."""

from __future__ import annotations

from typing import Any

from video_helpers import audited

from clinical_api.video.peer import Participant


async def test_two_peers_exchange_audio_and_video_then_end_files_encounter(consult: Any) -> None:
    api = consult.api
    room = consult.room()
    doctor = consult.token(room["id"], "doctor-cardio")
    patient = consult.token(room["id"], "pat-a")
    # entered in order: b joins second, so b is the one that offers
    async with (
        Participant(api.url, room["id"], doctor["token"]) as a,
        Participant(api.url, room["id"], patient["token"]) as b,
    ):
        await a.wait_for(lambda: a.media_from_all(10), 60)
        await b.wait_for(lambda: b.media_from_all(10), 60)
        got_a = a.received[b.id or ""]
        got_b = b.received[a.id or ""]
        assert got_a.frames["audio"] >= 10 and got_a.frames["video"] >= 10
        assert got_b.frames["audio"] >= 10 and got_b.frames["video"] >= 10
        assert got_a.size == (320, 240) and got_b.size == (320, 240)
        assert a.pcs[b.id or ""].connectionState == "connected"
    with api.client("doctor-cardio") as c:
        r = c.post(f"/video/rooms/{room['id']}/end")
        assert r.status_code == 200, r.text
        ended = r.json()
        assert ended["status"] == "ended" and ended["encounter"]
        enc = c.get(f"/fhir/Encounter/{ended['encounter']}").json()
    assert enc["status"] == "finished" and enc["class"]["code"] == "VR"
    assert enc["subject"]["reference"] == f"Patient/{api.ids['patient_a']}"
    assert enc["appointment"][0]["reference"] == f"Appointment/{room['appointment']}"
    who = sorted(p["individual"]["display"] for p in enc["participant"])
    assert who == ["doctor doctor-cardio", "patient pat-a"]
    assert enc["period"]["start"] < enc["period"]["end"]
    assert enc["length"]["unit"] == "min" and enc["length"]["value"] > 0
    entity = f"Appointment/{room['appointment']}"
    pid = api.ids["patient_a"]
    assert sorted(audited(api, pid, "video-join", entity, 2)) == [
        ("video-join", "doctor-cardio"),
        ("video-join", "pat-a"),
    ]
    assert sorted(audited(api, pid, "video-leave", entity, 2)) == [
        ("video-leave", "doctor-cardio"),
        ("video-leave", "pat-a"),
    ]


async def test_an_invited_third_participant_gets_and_sends_media_to_both_others(consult: Any) -> None:
    api = consult.api
    room = consult.room()["id"]
    doctor = consult.token(room, "doctor-cardio")["token"]
    patient = consult.token(room, "pat-a")["token"]
    async with Participant(api.url, room, doctor) as a, Participant(api.url, room, patient) as b:
        await a.wait_for(lambda: a.media_from_all(3), 60)
        # the doctor invites a specialist from another department, with the join token alone
        with api.client(token=doctor) as c:
            invite = c.post(f"/video/rooms/{room}/tokens", json={"user": "doctor-onco"})
        assert invite.status_code == 201, invite.text
        async with Participant(api.url, room, invite.json()["token"]) as guest:
            for p in (a, b, guest):
                await p.wait_for(lambda p=p: len(p.peers) == 2 and p.media_from_all(5), 60)
            assert {peer["user"] for peer in guest.peers.values()} == {"doctor-cardio", "pat-a"}
            assert all(r.size == (320, 240) for r in guest.received.values())
