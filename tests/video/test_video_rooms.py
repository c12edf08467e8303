"""Rooms and join tokens over HTTP: who may open, see, join, invite, revoke; what a token says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt

from careline.settings import Settings, VideoSettings
from clinical_api.video.ice import ice_servers, turn_credentials


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_room_is_created_once_per_appointment_and_visible_to_its_patient_only(consult: Any) -> None:
    api = consult.api
    appt = consult.book()
    with api.client("doctor-cardio") as c:
        first = c.post("/video/rooms", json={"appointment": appt})
        again = c.post("/video/rooms", json={"appointment": appt})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    room = first.json()["id"]
    with api.client("pat-a") as c:
        mine = c.get("/video/rooms", params={"appointment": appt})
        assert mine.status_code == 200 and mine.json()["id"] == room
        assert "tokens" not in mine.json()
    with api.client("pat-b") as c:
        assert c.get(f"/video/rooms/{room}").status_code == 404
        assert c.post(f"/video/rooms/{room}/tokens").status_code == 404
    with api.client("nurse-onco") as c:  # other department: cannot open or see the room
        assert c.post("/video/rooms", json={"appointment": appt}).status_code == 403
        assert c.get(f"/video/rooms/{room}").status_code == 404
    with api.client("pat-a") as c:  # patients fetch rooms, they do not open them
        assert c.post("/video/rooms", json={"appointment": consult.book()}).status_code == 403


def test_bad_room_requests_are_clear_errors(consult: Any) -> None:
    api = consult.api
    with api.client("doctor-cardio") as c:
        assert c.post("/video/rooms", json={}).status_code == 400
        assert c.post("/video/rooms", json={"appointment": "x", "task": "y"}).status_code == 400
        assert c.post("/video/rooms", json={"appointment": "no-such"}).status_code == 404
        assert c.post("/video/rooms", json={"appointment": "../etc"}).status_code == 400
        assert c.get("/video/rooms/no-such-room").status_code == 404
    with api.client() as c:
        assert c.post("/video/rooms", json={"appointment": "x"}).status_code == 401


def test_token_is_bound_to_room_user_and_appointment_window(consult: Any) -> None:
    api = consult.api
    appt = consult.book(start_in_s=600, minutes=30)
    with api.client("doctor-cardio") as c:
        room_id = c.post("/video/rooms", json={"appointment": appt}).json()["id"]
        start = c.get(f"/fhir/Appointment/{appt}").json()["start"]
    issued = consult.token(room_id, "pat-a")
    claims = _claims(issued["token"])
    start_s = int(dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp())
    video = api.settings.video
    assert claims["aud"] == "video-join" and claims["room"] == room_id
    assert claims["sub"] == "pat-a" and claims["role"] == "patient"
    assert claims["nbf"] == start_s - video.early_join_s
    assert claims["exp"] == start_s + 30 * 60 + video.late_grace_s
    assert issued["joinUrl"].endswith(f"/video/consult?room={room_id}#token={issued['token']}")
    # a join token is not an API token
    with api.client(token=issued["token"]) as c:
        assert c.get(f"/fhir/Patient/{api.ids['patient_a']}").status_code == 401


def test_invites_are_for_staff_by_staff(consult: Any) -> None:
    api = consult.api
    room = consult.room()["id"]
    invite = consult.token(room, "doctor-cardio", user="doctor-onco")
    assert _claims(invite["token"])["sub"] == "doctor-onco"
    assert _claims(invite["token"])["prac"] == "prac-onco-1"
    with api.client("doctor-cardio") as c:
        assert c.post(f"/video/rooms/{room}/tokens", json={"user": "pat-b"}).status_code == 422
        assert c.post(f"/video/rooms/{room}/tokens", json={"user": "nobody"}).status_code == 404
    with api.client("pat-a") as c:
        assert c.post(f"/video/rooms/{room}/tokens", json={"user": "doctor-onco"}).status_code == 403
    # the invited specialist, holding only a join token, may invite in turn (the consult page's button)
    with api.client(token=invite["token"]) as c:
        again = c.post(f"/video/rooms/{room}/tokens", json={"user": "nurse-cardio"})
        assert again.status_code == 201, again.text
        assert c.post(f"/video/rooms/{room}/tokens").status_code == 403  # no self re-minting
    listed = api.client("doctor-cardio").get(f"/video/rooms/{room}").json()["tokens"]
    assert {t["user"] for t in listed} == {"doctor-onco", "nurse-cardio"}


def test_token_for_cancelled_appointment_or_other_room_is_refused(consult: Any) -> None:
    api = consult.api
    appt = consult.book()
    with api.client("doctor-cardio") as c:
        room = c.post("/video/rooms", json={"appointment": appt}).json()["id"]
        other = consult.room()["id"]
    mine = consult.token(room, "doctor-cardio")
    with api.client(token=mine["token"]) as c:
        assert c.get(f"/video/rooms/{other}").status_code == 403
        assert c.get("/video/ice-servers").status_code == 200
    with api.client("nurse-cardio") as c:
        assert c.post(f"/fhir/Appointment/{appt}/$cancel").status_code == 200
    with api.client("doctor-cardio") as c:
        assert c.post(f"/video/rooms/{room}/tokens").status_code == 409


def test_escalation_task_gets_a_room_and_a_one_hour_window(consult: Any) -> None:
    api = consult.api
    with api.client("nurse-cardio") as c:
        r = c.post(
            "/fhir/Task/$from-triage",
            json={
                "patient_id": api.ids["patient_a"],
                "triage_level": "emergency",
                "kind": "doctor-escalation",
                "department": "cardiology",
            },
        )
    assert r.status_code == 201, r.text
    task = r.json()["id"]
    with api.client("doctor-cardio") as c:
        created = c.post("/video/rooms", json={"task": task})
        assert created.status_code == 201, created.text
        assert c.post("/video/rooms", json={"task": task}).json()["id"] == created.json()["id"]
    claims = _claims(consult.token(created.json()["id"], "doctor-cardio")["token"])
    assert claims["exp"] - claims["iat"] == api.settings.video.escalation_ttl_s


def test_ice_servers_carry_stun_and_short_lived_turn_credentials(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        video=VideoSettings(
            ice_servers=["stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp"],
            turn_secret="s3cret",
        ),
    )
    servers = ice_servers(settings, "doctor-cardio", expires=2_000_000_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    assert servers[1]["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert servers[1]["username"] == "2000000000:doctor-cardio"
    assert servers[1]["credential"] == turn_credentials("s3cret", "doctor-cardio", 2_000_000_000)[1]
    # known value of base64(HMAC-SHA1("s3cret", "2000000000:doctor-cardio")), as coturn computes it
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"s3cret", b"2000000000:doctor-cardio", hashlib.sha1).digest()
    ).decode()
    assert servers[1]["credential"] == expected
    static = Settings(
        data_dir=tmp_path,
        video=VideoSettings(ice_servers=["turns:t.example.org:5349"], turn_username="u", turn_password="p"),
    )
    assert ice_servers(static, "x") == [
        {"urls": ["turns:t.example.org:5349"], "username": "u", "credential": "p"}
    ]
    assert ice_servers(Settings(data_dir=tmp_path), "x") == []


def test_consult_page_and_its_files_are_served_with_a_strict_policy(consult: Any) -> None:
    api = consult.api
    with api.client() as c:
        page = c.get("/video/consult", params={"room": "x"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert 'src="/video/static/consult.js"' in page.text
        js = c.get("/video/static/consult.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "createOffer" in js.text
        assert c.get("/video/static/consult.css").status_code == 200
        assert c.get("/video/static/tables.py").status_code == 404
        assert c.get("/video/static/..%2Ftables.py").status_code == 404
        # the ICE server list is for consult participants only
        assert c.get("/video/ice-servers").status_code == 401
    with api.client("doctor-cardio") as c:
        assert c.get("/video/ice-servers").status_code == 403
