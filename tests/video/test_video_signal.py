"""The signalling socket: who is refused (and with which close code), what is relayed to whom."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import jwt
import pytest
import websockets
from video_helpers import audited

from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.models import User
from clinical_api.video import tokens
from clinical_api.video.tables import VideoRoom, VideoToken


class Client:
    """A bare signalling client (no media): join, send, and read messages by type."""

    def __init__(self, url: str, token: str | None, via_query: bool = False) -> None:
        self.url = f"{url}?token={token}" if via_query and token else url
        self.token = None if via_query else token
        self.inbox: list[dict[str, Any]] = []
        self.ws: Any = None

    async def __aenter__(self) -> Client:
        self.ws = await websockets.connect(self.url)
        if self.token is not None:
            await self.ws.send(json.dumps({"type": "auth", "token": self.token}))
        elif not self.url.count("?token="):
            await self.ws.send(json.dumps({"type": "ping"}))  # anything but an auth message
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.ws.close()

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(msg))

    async def next(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The next message of `kind` (earlier ones of other kinds stay in the inbox)."""
        for i, msg in enumerate(self.inbox):
            if msg.get("type") == kind:
                return self.inbox.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await self.ws.recv())
                if msg.get("type") == kind:
                    return dict(msg)
                self.inbox.append(msg)

    async def closed(self, timeout: float = 10) -> tuple[int | None, str]:
        """Read until the server closes; its close code and reason."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    self.inbox.append(json.loads(await self.ws.recv()))
            except websockets.ConnectionClosed:
                pass
        return self.ws.close_code, self.ws.close_reason or ""


async def refusal(url: str, token: str | None, via_query: bool = False) -> tuple[int | None, str]:
    async with Client(url, token, via_query) as c:
        return await c.closed()


def _store_token(api: Any, room_id: str, username: str, nbf: dt.datetime, exp: dt.datetime) -> str:
    """A stored, correctly signed join token with an arbitrary window (e.g. one that ended an hour ago)."""
    factory = make_sessionmaker(make_engine(api.settings.database_url))
    with factory() as s:
        user = s.query(User).filter_by(username=username).one()
        jti = uuid.uuid4().hex
        s.add(
            VideoToken(
                jti=jti,
                room_id=room_id,
                username=username,
                role=user.role,
                issued_by="test",
                issued=nbf,
                not_before=nbf,
                expires=exp,
            )
        )
        s.commit()
        uid, role = user.id, user.role
    factory.kw["bind"].dispose()
    claims = {
        "aud": tokens.AUDIENCE,
        "room": room_id,
        "sub": username,
        "uid": uid,
        "role": role,
        "jti": jti,
        "iat": int(nbf.replace(tzinfo=dt.UTC).timestamp()),
        "nbf": int(nbf.replace(tzinfo=dt.UTC).timestamp()),
        "exp": int(exp.replace(tzinfo=dt.UTC).timestamp()),
    }
    return jwt.encode(claims, api.settings.security.jwt_secret.get_secret_value(), algorithm="HS256")


async def test_unauthorised_expired_early_revoked_and_wrong_room_joins_are_refused(consult: Any) -> None:
    api = consult.api
    room = consult.room()["id"]
    other = consult.room()["id"]
    url = consult.ws_url(room)
    assert await refusal(url, None) == (4401, "join token required")
    assert (await refusal(url, "not-a-jwt"))[0] == 4401
    # an API bearer token is not a join token
    assert await refusal(url, api.tokens["doctor-cardio"]) == (4401, "invalid join token")
    # a valid token of another room
    other_token = consult.token(other, "doctor-cardio")["token"]
    assert await refusal(url, other_token) == (4403, "this join token is for another room")
    assert await refusal(url, other_token, via_query=True) == (4403, "this join token is for another room")
    # a correctly signed token for this room that was never issued (no stored jti)
    forged = jwt.encode(
        {**jwt.decode(other_token, options={"verify_signature": False}), "room": room},
        api.settings.security.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    assert await refusal(url, forged) == (4401, "unknown join token")
    # signed with another key
    bad_key = jwt.encode(
        jwt.decode(other_token, options={"verify_signature": False}), "x" * 32, algorithm="HS256"
    )
    assert await refusal(consult.ws_url(other), bad_key) == (4401, "invalid join token")
    # after the window
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    expired = _store_token(api, room, "pat-a", now - dt.timedelta(hours=2), now - dt.timedelta(hours=1))
    assert await refusal(url, expired) == (4401, "join token expired")
    # before the window: an appointment three days ahead
    later = consult.room(start_in_s=3 * 24 * 3600)["id"]
    early = consult.token(later, "pat-a")["token"]
    code, reason = await refusal(consult.ws_url(later), early)
    assert code == 4401 and reason.startswith("join token not valid yet")
    # after a revoke
    issued = consult.token(room, "pat-a")
    with api.client("doctor-cardio") as c:
        r = c.delete(f"/video/rooms/{room}/tokens/{issued['jti']}")
        assert r.status_code == 200 and r.json()["revoked"]
        assert c.delete(f"/video/rooms/{room}/tokens/nope").status_code == 404
    assert await refusal(url, issued["token"]) == (4401, "join token revoked")
    with api.client("pat-a") as c:  # the patient cannot revoke
        assert c.delete(f"/video/rooms/{room}/tokens/{issued['jti']}").status_code == 403
    # the refusals for this room are in its patient's audit log, as failures
    with api.client("admin") as c:
        r = c.get(
            "/fhir/AuditEvent", params={"patient": api.ids["patient_a"], "code": "video-join", "_count": 100}
        )
    failed = [e["resource"] for e in r.json()["entry"] if e["resource"]["outcome"] == "8"]
    agents = {e["agent"][0]["who"]["identifier"]["value"] for e in failed}
    assert {"pat-a", "doctor-cardio"} <= agents


async def test_revoke_and_end_disconnect_connected_participants(consult: Any) -> None:
    api = consult.api
    room = consult.room()["id"]
    url = consult.ws_url(room)
    doctor = consult.token(room, "doctor-cardio")
    patient = consult.token(room, "pat-a")
    guest = consult.token(room, "doctor-cardio", user="doctor-onco")
    async with (
        Client(url, doctor["token"]) as d,
        Client(url, patient["token"]) as p,
        Client(url, guest["token"]) as g,
    ):
        me = (await d.next("peers"))["you"]
        await p.next("peers")
        await g.next("peers")
        with api.client("doctor-cardio") as c:
            r = c.delete(f"/video/rooms/{room}/tokens/{guest['jti']}")
        assert r.json()["disconnected"] == 1
        assert await g.closed() == (4401, "join token revoked")
        left = await d.next("left")
        assert left["peer"] != me
        with api.client(token=doctor["token"]) as c:  # the page ends the consult with its join token
            r = c.post(f"/video/rooms/{room}/end")
            assert r.status_code == 200, r.text
        assert (await p.next("ended"))["encounter"] == r.json()["encounter"]
        assert await p.closed() == (4410, "the consult has ended")
        assert (await d.closed())[0] == 4410
    assert await refusal(url, patient["token"]) == (4410, "the consult has ended")
    with api.client("doctor-cardio") as c:
        assert c.post(f"/video/rooms/{room}/tokens").status_code == 409
        again = c.post(f"/video/rooms/{room}/end")  # ending twice is harmless
        assert again.status_code == 200 and again.json()["encounter"] == r.json()["encounter"]
        enc = c.get(f"/fhir/Encounter/{r.json()['encounter']}").json()
    roles = {p["individual"]["display"]: p["type"][0]["coding"][0]["code"] for p in enc["participant"]}
    assert roles == {"doctor doctor-cardio": "PPRF", "patient pat-a": "PART", "doctor doctor-onco": "CON"}
    onco = next(p for p in enc["participant"] if p["individual"]["display"] == "doctor doctor-onco")
    assert onco["individual"]["reference"] == "Practitioner/prac-onco-1"
    # the participants disconnected by the end have their leaves audited too
    appt = api.client("doctor-cardio").get(f"/video/rooms/{room}").json()["appointment"]

    leaves = audited(api, api.ids["patient_a"], "video-leave", f"Appointment/{appt}", 3)
    assert {who for _, who in leaves} == {"doctor-cardio", "pat-a", "doctor-onco"}


async def test_relay_stays_inside_the_room_and_late_joiners_get_the_shared_panel(consult: Any) -> None:
    room = consult.room()["id"]
    other = consult.room()["id"]
    url = consult.ws_url(room)
    a_tok = consult.token(room, "doctor-cardio")["token"]
    b_tok = consult.token(room, "pat-a")["token"]
    c_tok = consult.token(other, "doctor-cardio")["token"]
    async with Client(url, a_tok) as a, Client(url, b_tok) as b, Client(consult.ws_url(other), c_tok) as c:
        a_id = (await a.next("peers"))["you"]
        b_peers = await b.next("peers")
        b_id = b_peers["you"]
        c_id = (await c.next("peers"))["you"]
        assert [p["id"] for p in b_peers["peers"]] == [a_id]
        assert (await a.next("joined"))["peer"] == {"id": b_id, "user": "pat-a", "role": "patient"}
        assert (await a.next("ice-servers"))["iceServers"] == []
        await a.send({"type": "offer", "to": b_id, "sdp": "v=0 fake", "extra": "dropped"})
        got = await b.next("offer")
        assert got == {"type": "offer", "from": a_id, "sdp": "v=0 fake", "restart": False}
        await b.send(
            {
                "type": "ice",
                "to": a_id,
                "candidate": {
                    "candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                },
            }
        )
        assert (await a.next("ice"))["candidate"]["sdpMid"] == "0"
        # a peer of another room is unreachable
        await a.send({"type": "offer", "to": c_id, "sdp": "v=0"})
        assert (await a.next("error"))["message"] == f"no peer {c_id} in this room"
        # bad messages get an error and the connection stays usable
        for bad in (
            "not json",
            json.dumps([1]),
            json.dumps({"type": "nope"}),
            json.dumps({"type": "view", "study": "1.2", "series": "x", "instance": "1"}),
        ):
            await a.ws.send(bad)
            assert (await a.next("error"))["message"]
        await a.send({"type": "ping", "t": 5})
        assert (await a.next("pong"))["t"] == 5
        # shared image panel: view, stroke, pointer reach the room (and only the room)
        view = {
            "type": "view",
            "study": "1.2.3",
            "series": "1.2.3.4",
            "instance": "1.2.3.4.5",
            "frame": 7,
            "center": 40,
            "width": 400,
        }
        await a.send(view)
        assert (await b.next("view"))["frame"] == 7
        stroke = {
            "type": "stroke",
            "id": "s1",
            "points": [[0.1, 0.2], [0.3, 0.4]],
            "color": "#ff0000",
            "width": 3,
        }
        await a.send(stroke)
        assert (await b.next("stroke"))["points"] == [[0.1, 0.2], [0.3, 0.4]]
        await b.send({"type": "pointer", "x": 0.5, "y": 0.25})
        assert (await a.next("pointer"))["from"] == b_id
        # a late joiner (an invited specialist) sees the current frame and strokes
        guest = consult.token(room, "doctor-cardio", user="doctor-onco")["token"]
        async with Client(url, guest) as g:
            state = await g.next("peers")
            assert state["view"]["instance"] == "1.2.3.4.5" and state["view"]["frame"] == 7
            assert [s["id"] for s in state["strokes"]] == ["s1"]
            assert {p["user"] for p in state["peers"]} == {"doctor-cardio", "pat-a"}
        with pytest.raises(TimeoutError):
            await c.next("view", timeout=0.5)


async def test_a_second_connection_with_the_same_token_replaces_the_first(consult: Any) -> None:
    room = consult.room()["id"]
    url = consult.ws_url(room)
    token = consult.token(room, "pat-a")["token"]
    async with Client(url, token) as first:
        await first.next("peers")
        async with Client(url, token) as second:
            assert (await second.next("peers"))["peers"] == []
            assert await first.closed() == (4409, "replaced by a newer connection")


def test_room_rows_stay_consistent(consult: Any) -> None:
    """Every token row points at an existing room (the FK holds on SQLite too)."""
    api = consult.api
    factory = make_sessionmaker(make_engine(api.settings.database_url))
    with factory() as s:
        rooms = {r.id for r in s.query(VideoRoom).all()}
        assert rooms and all(t.room_id in rooms for t in s.query(VideoToken).all())
    factory.kw["bind"].dispose()


async def test_a_full_room_refuses_one_more(consult: Any) -> None:
    """The mesh is capped at settings.video.max_peers (4): larger consults need an SFU."""
    room = consult.room()["id"]
    url = consult.ws_url(room)
    cap = consult.api.settings.video.max_peers
    who = ["doctor-cardio", "pat-a", "doctor-onco", "nurse-cardio", "nurse-cardio"][: cap + 1]
    issued = [consult.token(room, "doctor-cardio")["token"], consult.token(room, "pat-a")["token"]]
    issued += [consult.token(room, "doctor-cardio", user=u)["token"] for u in who[2:]]
    clients = [Client(url, t) for t in issued[:cap]]
    try:
        for c in clients:
            await c.__aenter__()
            await c.next("peers")
        assert await refusal(url, issued[cap]) == (4429, "the room is full (use an SFU for larger consults)")
    finally:
        for c in clients:
            await c.__aexit__()


def test_stored_strokes_stay_bounded_for_late_joiners() -> None:
    from clinical_api.video.hub import MAX_STORED_POINTS, _bounded

    strokes = [{"id": f"s{i}", "points": [[0.5, 0.5]] * 2000} for i in range(15)]
    kept = _bounded(strokes)
    assert sum(len(s["points"]) for s in kept) <= MAX_STORED_POINTS
    assert [s["id"] for s in kept] == [f"s{i}" for i in range(5, 15)]  # the newest, in order


async def test_a_token_expiring_during_the_consult_closes_its_connection(consult: Any) -> None:
    room = consult.room()["id"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    short = _store_token(
        consult.api, room, "pat-a", now - dt.timedelta(minutes=5), now + dt.timedelta(seconds=2)
    )
    async with Client(consult.ws_url(room), short) as c:
        await c.next("peers")
        assert await c.closed() == (4401, "join token expired")
