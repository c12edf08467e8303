"""Per-participant join tokens: JWTs with audience ``video-join`` bound to one room, one user, one window.

Claims: ``aud`` video-join, ``room``, ``sub`` (username), ``uid``, ``role``, ``prac`` (Practitioner id, if
any), ``nbf``/``exp`` (the join window), ``iat``, ``jti``. The audience keeps a join token from ever being
accepted as an API bearer token (``auth.decode_token`` sets no audience, so PyJWT rejects it), and the
stored ``jti`` row lets a token be revoked before it expires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.auth import ALGORITHM, token_audience
from clinical_api.models import Appointment, Slot, User
from clinical_api.util import utcnow
from clinical_api.video.tables import VideoRoom, VideoToken

AUDIENCE = "video-join"
LEEWAY_S = 5


class JoinRefused(Exception):
    """A join token that does not admit its bearer; ``code`` is the WebSocket close code to use."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def http_status(self) -> int:
        return {4401: 401, 4403: 403, 4404: 404, 4410: 409}.get(self.code, 400)


#: WebSocket close codes (4000 + the matching HTTP status, 4410 for a room that has ended).
UNAUTHORIZED, FORBIDDEN, NOT_FOUND, ROOM_FULL, ENDED = 4401, 4403, 4404, 4429, 4410


@dataclass(frozen=True)
class JoinClaims:
    """What a verified join token admits."""

    room: str
    jti: str
    username: str
    user_id: str
    role: str
    practitioner_id: str | None
    not_before: int
    expires: int


def window_of(
    settings: Settings, session: Session, room: VideoRoom, now: datetime
) -> tuple[datetime, datetime]:
    """The join window: the appointment's slot widened by early-join and grace; an escalation: now + ttl."""
    if room.appointment_id is not None:
        appt = session.get(Appointment, room.appointment_id)
        slot = session.get(Slot, appt.slot_id) if appt is not None else None
        if appt is None or slot is None:
            raise JoinRefused(NOT_FOUND, "the room's appointment no longer exists")
        if appt.status == "cancelled":
            raise JoinRefused(ENDED, "the appointment was cancelled")
        return (
            slot.start - timedelta(seconds=settings.video.early_join_s),
            slot.end + timedelta(seconds=settings.video.late_grace_s),
        )
    return now - timedelta(seconds=LEEWAY_S), now + timedelta(seconds=settings.video.escalation_ttl_s)


def _epoch(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp())


def issue(
    settings: Settings,
    session: Session,
    room: VideoRoom,
    user: User,
    issued_by: str,
    window: tuple[datetime, datetime] | None = None,
) -> tuple[str, VideoToken]:
    """Mint and store a join token for `user` in `room` (caller commits). `window` overrides the default."""
    now = utcnow()
    not_before, expires = window or window_of(settings, session, room, now)
    if expires <= now:
        raise JoinRefused(ENDED, "the consult window is over")
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "room": room.id,
        "sub": user.username,
        "uid": user.id,
        "role": user.role,
        "iat": _epoch(now),
        "nbf": _epoch(not_before),
        "exp": _epoch(expires),
        "jti": jti,
    }
    if user.practitioner_id:
        claims["prac"] = user.practitioner_id
    row = VideoToken(
        jti=jti,
        room_id=room.id,
        username=user.username,
        role=user.role,
        issued_by=issued_by[:128],
        issued=now,
        not_before=not_before,
        expires=expires,
    )
    session.add(row)
    session.flush()
    token = jwt.encode(claims, settings.security.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, row


def decode(settings: Settings, token: str) -> JoinClaims:
    """Verify signature, audience and window; JoinRefused(4401) says which check failed."""
    try:
        claims = jwt.decode(
            token,
            settings.security.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=LEEWAY_S,
            options={"require": ["aud", "exp", "nbf", "jti", "sub", "room", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise JoinRefused(UNAUTHORIZED, "join token expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise JoinRefused(
            UNAUTHORIZED, "join token not valid yet: the room opens before the appointment"
        ) from exc
    except jwt.PyJWTError as exc:
        raise JoinRefused(UNAUTHORIZED, "invalid join token") from exc
    return JoinClaims(
        room=str(claims["room"]),
        jti=str(claims["jti"]),
        username=str(claims["sub"]),
        user_id=str(claims.get("uid", "")),
        role=str(claims["role"]),
        practitioner_id=claims.get("prac"),
        not_before=int(claims["nbf"]),
        expires=int(claims["exp"]),
    )


def is_join_token(token: str) -> bool:
    """True when the (unverified) token names the video-join audience: routes pick the verifier by it."""
    return token_audience(token) == AUDIENCE


def admit(settings: Settings, session: Session, token: str, room_id: str) -> tuple[JoinClaims, VideoRoom]:
    """The claims and room a token admits to `room_id` now, or JoinRefused (other room, revoked, ended...)."""
    claims = decode(settings, token)
    if claims.room != room_id:
        raise JoinRefused(FORBIDDEN, "this join token is for another room")
    room = session.get(VideoRoom, room_id)
    if room is None:
        raise JoinRefused(NOT_FOUND, "room not found")
    row = session.get(VideoToken, claims.jti)
    if row is None or row.room_id != room_id:
        raise JoinRefused(UNAUTHORIZED, "unknown join token")
    if row.revoked is not None:
        raise JoinRefused(UNAUTHORIZED, "join token revoked")
    if room.status != "open":
        raise JoinRefused(ENDED, "the consult has ended")
    user = session.get(User, claims.user_id) if claims.user_id else None
    if user is None or not user.active:
        raise JoinRefused(UNAUTHORIZED, "the participant's account is disabled")
    return claims, room
