"""HTTP and WebSocket endpoints under /video: rooms, join tokens, ICE servers, signalling, the consult page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from careline.settings import Settings
from clinical_api.auth import bearer_token, decode_token, unauthorized
from clinical_api.deps import db_session, get_settings
from clinical_api.errors import FhirError
from clinical_api.util import iso, valid_id
from clinical_api.video import rooms, tokens
from clinical_api.video.hub import Close, Hub, Peer
from clinical_api.video.ice import ice_servers
from clinical_api.video.messages import MAX_TEXT, BadMessage, parse

router = APIRouter(prefix="/video", tags=["video"])

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"consult.js": "text/javascript", "consult.css": "text/css"}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
    "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
)
AUTH_TIMEOUT_S = 10.0
ID = r"^[A-Za-z0-9\-.]{1,64}$"


def hub_of(app: Any) -> Hub:
    """The app's signalling hub, created on first use (one per process)."""
    hub: Hub | None = getattr(app.state, "video_hub", None)
    if hub is None:
        hub = Hub(app.state.settings.video.max_peers)
        app.state.video_hub = hub
    return hub


def caller(request: Request, session: Session = Depends(db_session)) -> rooms.Caller:
    """The caller: an API bearer token, or a join token (then only for the room in the path)."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("bearer token required")
    settings: Settings = request.app.state.settings
    if not tokens.is_join_token(token):
        principal = decode_token(settings, token)
        request.state.principal = principal
        return rooms.Caller(principal)
    room_id = request.path_params.get("room")
    try:
        claims = tokens.decode(settings, token)
        if room_id is None:
            room_id = claims.room
        tokens.admit(settings, session, token, str(room_id))
    except tokens.JoinRefused as exc:
        raise FhirError(exc.http_status, exc.reason, "login" if exc.http_status == 401 else None) from exc
    principal = rooms.caller_principal(session, claims)
    request.state.principal = principal
    return rooms.Caller(principal, claims)


class RoomIn(BaseModel):
    """Exactly one of an Appointment id or an escalation Task id."""

    appointment: str | None = Field(None, pattern=ID)
    task: str | None = Field(None, pattern=ID)

    @model_validator(mode="after")
    def _one(self) -> RoomIn:
        if (self.appointment is None) == (self.task is None):
            raise ValueError("give exactly one of appointment or task")
        return self


class TokenIn(BaseModel):
    """No user: a token for the caller. A username: an invite for that nurse or doctor."""

    user: str | None = Field(None, pattern=r"^[^\x00-\x1f]{1,128}$")


def _room_response(
    session: Session, settings: Settings, who: rooms.Caller, room: Any, status: int = 200
) -> JSONResponse:
    manage = rooms.may_manage(session, settings, who, room)
    return JSONResponse(rooms.room_json(session, room, with_tokens=manage), status_code=status)


@router.post("/rooms")
def open_room(
    request: Request,
    body: RoomIn,
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    """The consult room of an appointment or escalation Task: 201 when created, 200 when it existed."""
    if who.join is not None:
        raise FhirError(403, "open rooms with an API token", "forbidden")
    kind, rid = ("appointment", body.appointment) if body.appointment else ("task", body.task)
    assert rid is not None
    status, room = rooms.open_room(session, settings, who.principal, kind, rid)
    return _room_response(session, settings, who, room, status)


@router.get("/rooms")
def find_room(
    appointment: str | None = None,
    task: str | None = None,
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    """The room of ``?appointment=`` or ``?task=`` (the patient of an appointment may look it up)."""
    kind, rid = ("appointment", appointment) if appointment else ("task", task)
    if rid is None or not valid_id(rid):
        raise FhirError(400, "give ?appointment=<id> or ?task=<id>", "required")
    room = rooms.find(session, kind, rid)
    if room is None or not rooms.may_view(session, settings, who, room):
        raise FhirError(404, "room not found")
    return _room_response(session, settings, who, room)


@router.get("/rooms/{room}")
def get_room(
    room: str,
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    found = rooms.load(session, room)
    if not rooms.may_view(session, settings, who, found):
        raise FhirError(404, "room not found")
    return _room_response(session, settings, who, found)


@router.post("/rooms/{room}/tokens", status_code=201)
def issue_token(
    request: Request,
    room: str,
    body: TokenIn | None = Body(None),
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    """A join token for the caller, or (``{"user": ...}``) an invite for another nurse or doctor."""
    found = rooms.load(session, room)
    if not rooms.may_view(session, settings, who, found):
        raise FhirError(404, "room not found")
    token, row = rooms.issue_token(session, settings, who, found, body.user if body else None)
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "token": token,
            "jti": row.jti,
            "room": found.id,
            "user": row.username,
            "role": row.role,
            "notBefore": iso(row.not_before),
            "expires": iso(row.expires),
            "joinUrl": f"{base}/video/consult?room={found.id}#token={token}",
        },
        status_code=201,
    )


@router.delete("/rooms/{room}/tokens/{jti}")
async def revoke_token(
    request: Request,
    room: str,
    jti: str,
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    """Revoke one join token; a participant connected with it is disconnected (close code 4401)."""
    found = await run_in_threadpool(rooms.load, session, room)
    row = await run_in_threadpool(rooms.revoke, session, settings, who, found, jti)
    kicked = hub_of(request.app).kick(found.id, tokens.UNAUTHORIZED, "join token revoked", jti=row.jti)
    return JSONResponse({"jti": row.jti, "revoked": iso(row.revoked), "disconnected": kicked})


@router.post("/rooms/{room}/end")
async def end_room(
    request: Request,
    room: str,
    session: Session = Depends(db_session),
    who: rooms.Caller = Depends(caller),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    """End the consult: every token is refused from now on and the Encounter is filed."""
    found = await run_in_threadpool(rooms.load, session, room)
    ended = await run_in_threadpool(rooms.end, session, settings, who, found)
    notice = {"type": "ended", "encounter": ended.encounter_id}
    hub_of(request.app).kick(ended.id, tokens.ENDED, "the consult has ended", notice=notice)
    return JSONResponse(rooms.room_json(session, ended, with_tokens=False))


@router.get("/ice-servers")
def get_ice_servers(
    who: rooms.Caller = Depends(caller), settings: Settings = Depends(get_settings)
) -> JSONResponse:
    """RTCIceServer list for a participant holding a valid join token."""
    if who.join is None:
        raise FhirError(403, "ICE servers are given to consult participants (join token)", "forbidden")
    return JSONResponse({"iceServers": ice_servers(settings, who.join.username, who.join.expires)})


@router.get("/consult", include_in_schema=False)
def consult_page() -> Response:
    """The consult page (token in the URL fragment, so it never reaches server logs)."""
    return FileResponse(
        STATIC / "consult.html",
        media_type="text/html",
        headers={
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        raise FhirError(404, "not found")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})


async def _first_token(ws: WebSocket) -> str | None:
    """The token from ``?token=`` or from a first ``{"type": "auth", "token": ...}`` message."""
    token = ws.query_params.get("token")
    if token:
        return token
    try:
        text = await asyncio.wait_for(ws.receive_text(), timeout=AUTH_TIMEOUT_S)
        msg = json.loads(text)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        return None
    if isinstance(msg, dict) and msg.get("type") == "auth" and isinstance(msg.get("token"), str):
        return str(msg["token"])
    return None


async def _refuse(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps({"type": "error", "code": code, "message": reason}))
        await ws.close(code, reason)


async def _writer(ws: WebSocket, peer: Peer) -> None:
    """Drain the peer's queue into its socket; a Close item closes it."""
    while True:
        item = await peer.out.get()
        if isinstance(item, Close):
            with contextlib.suppress(Exception):
                await ws.close(item.code, item.reason)
            return
        try:
            await ws.send_text(item)
        except Exception:
            return


@router.websocket("/rooms/{room}/signal")
async def signal(ws: WebSocket, room: str) -> None:
    """Relay offers, answers and ICE candidates between a room's authorised participants.

    Close codes: 4401 missing/invalid/expired/not-yet-valid/revoked token, 4403 token for another room,
    4404 no such room, 4410 consult ended, 4429 room full, 4408 too slow, 4409 replaced by a new connection.
    """
    await ws.accept()
    app = ws.app
    settings: Settings = app.state.settings
    factory = app.state.sessionmaker
    token = await _first_token(ws)
    if token is None:
        await _refuse(ws, tokens.UNAUTHORIZED, "join token required")
        return

    def admit() -> tuple[tokens.JoinClaims, str]:
        with factory() as session:
            claims = None
            try:
                claims = tokens.decode(settings, token)
                claims, row = tokens.admit(settings, session, token, room)
                return claims, row.id
            except tokens.JoinRefused as exc:
                rooms.record_refusal(session, claims, room, exc.http_status)
                raise

    try:
        claims, room_id = await run_in_threadpool(admit)
    except tokens.JoinRefused as exc:
        await _refuse(ws, exc.code, exc.reason)
        return
    hub = hub_of(app)
    peer = Peer(claims)
    peer.send({"type": "ice-servers", "iceServers": ice_servers(settings, claims.username, claims.expires)})
    if hub.join(room_id, peer) is None:
        await _refuse(ws, tokens.ROOM_FULL, "the room is full (use an SFU for larger consults)")
        return

    def joined() -> str:
        with factory() as session:
            found = rooms.load(session, room_id)
            return rooms.record_join(session, claims, found)

    def left(participation: str) -> None:
        with factory() as session:
            rooms.record_leave(session, claims, participation)

    participation = await run_in_threadpool(joined)
    writer = asyncio.create_task(_writer(ws, peer))
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, claims.expires - time.time()), peer.push, Close(tokens.UNAUTHORIZED, "join token expired")
    )
    try:
        await _read_loop(ws, hub, room_id, peer)
    finally:
        expiry.cancel()
        hub.leave(room_id, peer)
        if not peer.closed:
            peer.push(Close(1000, "bye"))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, timeout=5)
        await run_in_threadpool(left, participation)


async def _read_loop(ws: WebSocket, hub: Hub, room_id: str, peer: Peer) -> None:
    """Read until the client leaves or the connection is closed (by the hub, or when the token expires).

    A closed peer's later messages are dropped; the loop ends when the client acknowledges the close.
    """
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if peer.closed:
            continue
        text = message.get("text")
        if text is None:
            peer.send({"type": "error", "message": "send JSON text messages"})
            continue
        if len(text) > MAX_TEXT:
            peer.send({"type": "error", "message": "message too large"})
            continue
        try:
            kind, to, payload = parse(json.loads(text))
        except (ValueError, BadMessage) as exc:
            reason = str(exc) if isinstance(exc, BadMessage) else "invalid JSON"
            peer.send({"type": "error", "message": reason})
            continue
        if kind == "bye":
            return
        if kind == "ping":
            peer.send({"type": "pong", **payload})
            continue
        error = hub.relay(room_id, peer, kind, to, payload)
        if error is not None:
            peer.send({"type": "error", "message": error})
