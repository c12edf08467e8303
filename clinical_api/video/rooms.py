"""Consult rooms: create on demand, issue and revoke join tokens, record joins/leaves, end into an Encounter.

Plain functions over a SQLAlchemy session; the router stays thin. Who may do what:

* create a room: a nurse or doctor who reaches the patient (API token);
* see a room: those, the patient of the room, and anyone holding a valid join token for it;
* issue their own token: the patient of the room, or staff who reach the patient;
* invite (a token for another nurse/doctor), revoke, end: staff who reach the patient, or a staff
  participant holding a valid join token for this room (an invited specialist may invite in turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api import audit, service
from clinical_api.access import can_reach_patient, forbidden
from clinical_api.auth import Principal, principal_of
from clinical_api.context import Ctx
from clinical_api.errors import FhirError
from clinical_api.fhir import CARELINE
from clinical_api.models import Appointment, Resource, User
from clinical_api.util import iso, new_id, utcnow, valid_id
from clinical_api.video import tokens
from clinical_api.video.tables import VideoParticipation, VideoRoom, VideoToken

ROOM_SYSTEM = f"{CARELINE}/video-room"
TASK_EXT = f"{CARELINE}/StructureDefinition/escalation-task"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INVITABLE = frozenset({"nurse", "doctor"})


@dataclass(frozen=True)
class Caller:
    """Who calls a room endpoint: an API principal, or a participant proven by a join token."""

    principal: Principal
    join: tokens.JoinClaims | None = None


def _subject(room: VideoRoom) -> str:
    return f"Appointment/{room.appointment_id}" if room.appointment_id else f"Task/{room.task_id}"


def _reaches(session: Session, settings: Settings, principal: Principal, room: VideoRoom) -> bool:
    return principal.is_staff and can_reach_patient(session, settings, principal, room.patient_id)


def may_manage(session: Session, settings: Settings, caller: Caller, room: VideoRoom) -> bool:
    if caller.join is not None:
        return caller.join.room == room.id and caller.principal.is_staff
    return _reaches(session, settings, caller.principal, room)


def may_view(session: Session, settings: Settings, caller: Caller, room: VideoRoom) -> bool:
    if caller.join is not None:
        return caller.join.room == room.id
    if caller.principal.bound_patient is not None:
        return caller.principal.bound_patient == room.patient_id and caller.principal.role == "patient"
    return _reaches(session, settings, caller.principal, room)


def load(session: Session, room_id: str) -> VideoRoom:
    room = session.get(VideoRoom, room_id) if valid_id(room_id) else None
    if room is None:
        raise FhirError(404, "room not found")
    return room


def room_json(session: Session, room: VideoRoom, with_tokens: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": room.id,
        "appointment": room.appointment_id,
        "task": room.task_id,
        "patient": room.patient_id,
        "status": room.status,
        "created": iso(room.created),
        "firstJoin": iso(room.first_join),
        "ended": iso(room.ended),
        "encounter": room.encounter_id,
    }
    if with_tokens:
        rows = session.scalars(
            select(VideoToken).where(VideoToken.room_id == room.id).order_by(VideoToken.issued)
        ).all()
        body["tokens"] = [
            {
                "jti": t.jti,
                "user": t.username,
                "role": t.role,
                "notBefore": iso(t.not_before),
                "expires": iso(t.expires),
                "revoked": iso(t.revoked),
            }
            for t in rows
        ]
    return body


def _target(
    session: Session, settings: Settings, principal: Principal, kind: str, rid: str
) -> tuple[str, str | None]:
    """The patient and department of the appointment or Task a room is for (404/409/403 otherwise)."""
    if not valid_id(rid):
        raise FhirError(400, f"invalid {kind} id", "invalid")
    if kind == "appointment":
        appt = session.get(Appointment, rid)
        if appt is None:
            raise FhirError(404, "Appointment not found")
        if appt.status == "cancelled":
            raise FhirError(409, "the appointment was cancelled", "business-rule")
        patient, department = appt.patient_id, appt.department
    else:
        task = session.get(Resource, ("Task", rid))
        if task is None or task.patient_id is None:
            raise FhirError(404, "Task not found")
        if task.status in ("completed", "cancelled", "rejected", "failed"):
            raise FhirError(409, f"the Task is {task.status}", "business-rule")
        patient, department = task.patient_id, task.department
    if not principal.is_staff:
        raise forbidden("only a nurse or doctor opens a consult room", patient)
    if not can_reach_patient(session, settings, principal, patient):
        raise forbidden("outside the caller's patient scope", patient)
    return patient, department


def find(session: Session, kind: str, rid: str) -> VideoRoom | None:
    column = VideoRoom.appointment_id if kind == "appointment" else VideoRoom.task_id
    return session.scalar(select(VideoRoom).where(column == rid))


def open_room(
    session: Session, settings: Settings, principal: Principal, kind: str, rid: str
) -> tuple[int, VideoRoom]:
    """The room of an appointment or Task, created when missing (201) or found (200); commits."""
    patient, department = _target(session, settings, principal, kind, rid)
    existing = find(session, kind, rid)
    if existing is not None:
        return 200, existing
    room = VideoRoom(
        id=new_id(),
        appointment_id=rid if kind == "appointment" else None,
        task_id=rid if kind == "task" else None,
        patient_id=patient,
        department=department,
        status="open",
        created_by=principal.username[:128],
        created=utcnow(),
    )
    session.add(room)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # a concurrent request created it first: the UNIQUE column decided
        winner = find(session, kind, rid)
        if winner is None:
            raise
        return 200, winner
    audit.record(session, principal, "create", patient, [_subject(room)])
    session.commit()
    return 201, room


def issue_token(
    session: Session, settings: Settings, caller: Caller, room: VideoRoom, username: str | None
) -> tuple[str, VideoToken]:
    """A join token for the caller (no `username`) or, as an invite, for another nurse or doctor; commits."""
    principal = caller.principal
    if room.status != "open":
        raise FhirError(409, "the consult has ended", "business-rule")
    if username is None or username == principal.username:
        if caller.join is not None:
            raise forbidden("a join token cannot mint another for its holder")
        own_patient = principal.role == "patient" and principal.bound_patient == room.patient_id
        if not own_patient and not _reaches(session, settings, principal, room):
            raise forbidden("not a participant of this consult", room.patient_id)
        user = session.get(User, principal.user_id)
        if user is None or not user.active:
            raise forbidden("account not found or disabled")
    else:
        if not may_manage(session, settings, caller, room):
            raise forbidden("only staff in the consult invite others", room.patient_id)
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise FhirError(404, "no active user with that username")
        if user.role not in INVITABLE:
            raise FhirError(422, "only a nurse or doctor can be invited", "business-rule")
    try:
        token, row = tokens.issue(settings, session, room, user, principal.username)
    except tokens.JoinRefused as exc:
        raise FhirError(exc.http_status, exc.reason, "business-rule") from exc
    audit.record(session, principal, "video-token", room.patient_id, [_subject(room)])
    session.commit()
    return token, row


def revoke(session: Session, settings: Settings, caller: Caller, room: VideoRoom, jti: str) -> VideoToken:
    if not may_manage(session, settings, caller, room):
        raise forbidden("only staff in the consult revoke tokens", room.patient_id)
    row = session.get(VideoToken, jti) if valid_id(jti) else None
    if row is None or row.room_id != room.id:
        raise FhirError(404, "token not found in this room")
    if row.revoked is None:
        row.revoked = utcnow()
        audit.record(session, caller.principal, "video-revoke", room.patient_id, [_subject(room)])
    session.commit()
    return row


def record_join(session: Session, claims: tokens.JoinClaims, room: VideoRoom) -> str:
    """Store and audit one connection; the first join of the room starts the Encounter period. Commits."""
    now = utcnow()
    part = VideoParticipation(
        id=new_id(),
        room_id=room.id,
        jti=claims.jti,
        username=claims.username,
        role=claims.role,
        practitioner_id=claims.practitioner_id,
        joined=now,
    )
    session.add(part)
    if room.first_join is None:
        room.first_join = now
    audit.record(session, participant_principal(claims), "video-join", room.patient_id, [_subject(room)])
    session.commit()
    return part.id


def record_leave(session: Session, claims: tokens.JoinClaims, participation_id: str) -> None:
    part = session.get(VideoParticipation, participation_id)
    if part is None or part.left is not None:
        return
    part.left = utcnow()
    room = session.get(VideoRoom, part.room_id)
    patient = room.patient_id if room else None
    audit.record(
        session, participant_principal(claims), "video-leave", patient, [_subject(room)] if room else []
    )
    session.commit()


def record_refusal(session: Session, claims: tokens.JoinClaims | None, room_id: str, status: int) -> None:
    """Audit a refused join when the room exists (a forged room id has no patient to file it under)."""
    room = session.get(VideoRoom, room_id) if valid_id(room_id) else None
    if room is None:
        return
    principal = participant_principal(claims) if claims else None
    audit.record(session, principal, "video-join", room.patient_id, [_subject(room)], status=status)
    session.commit()


def participant_principal(claims: tokens.JoinClaims) -> Principal:
    return Principal(
        username=claims.username,
        user_id=claims.user_id,
        role=claims.role,
        practitioner_id=claims.practitioner_id,
        expires_at=claims.expires,
    )


def caller_principal(session: Session, claims: tokens.JoinClaims) -> Principal:
    """The full principal (department included) of a join-token holder, for access checks."""
    user = session.get(User, claims.user_id)
    if user is None or not user.active:
        raise FhirError(401, "the participant's account is disabled", "login")
    return principal_of(user)


#: Encounter.participant.type by how someone came into the consult.
PARTICIPANT_TYPE = {
    "patient": ("PART", "participation"),
    "staff": ("PPRF", "primary performer"),
    "invited": ("CON", "consultant"),
}


def _participants(parts: list[VideoParticipation], invited: set[str], end: datetime) -> list[dict[str, Any]]:
    """One Encounter.participant per person: first join to last leave; staff who took their own token
    are primary performers, staff invited by someone else consultants, the patient a participant."""
    by_user: dict[str, list[VideoParticipation]] = {}
    for part in parts:
        by_user.setdefault(part.username, []).append(part)
    out: list[dict[str, Any]] = []
    for username, rows in by_user.items():
        start = min(r.joined for r in rows)
        stop = max((r.left or end) for r in rows)
        role = rows[0].role
        how = "patient" if role == "patient" else "invited" if username in invited else "staff"
        code, display = PARTICIPANT_TYPE[how]
        individual: dict[str, Any] = {"display": f"{role} {username}"}
        if rows[0].practitioner_id:
            individual["reference"] = f"Practitioner/{rows[0].practitioner_id}"
        out.append(
            {
                "type": [{"coding": [{"system": PARTICIPATION, "code": code, "display": display}]}],
                "period": {"start": iso(start), "end": iso(stop)},
                "individual": individual,
            }
        )
    return out


def encounter_body(
    room: VideoRoom, parts: list[VideoParticipation], invited: set[str], end: datetime
) -> dict[str, Any]:
    """A finished virtual Encounter: period first join -> end, length in minutes, every participant."""
    start = room.first_join or end
    minutes = round((end - start).total_seconds() / 60.0, 2)
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
        "identifier": [{"system": ROOM_SYSTEM, "value": room.id}],
        "subject": {"reference": f"Patient/{room.patient_id}"},
        "participant": _participants(parts, invited, end),
        "period": {"start": iso(start), "end": iso(end)},
        "length": {"value": minutes, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"},
    }
    if room.appointment_id:
        body["appointment"] = [{"reference": f"Appointment/{room.appointment_id}"}]
    if room.task_id:
        body["extension"] = [{"url": TASK_EXT, "valueReference": {"reference": f"Task/{room.task_id}"}}]
    if room.department:
        body["serviceProvider"] = {"reference": f"Organization/{room.department}"}
    return body


def end(session: Session, settings: Settings, caller: Caller, room: VideoRoom) -> VideoRoom:
    """Close the room for good (every token refused from now on) and file the Encounter; commits.

    Ending twice returns the ended room. A room nobody joined ends without an Encounter.
    """
    if not may_manage(session, settings, caller, room):
        raise forbidden("only staff in the consult end it", room.patient_id)
    if room.status == "ended":
        return room
    now = utcnow()
    parts = list(
        session.scalars(
            select(VideoParticipation)
            .where(VideoParticipation.room_id == room.id)
            .order_by(VideoParticipation.joined)
        ).all()
    )
    room.status = "ended"  # sockets still open are closed by the caller; their leaves are audited then
    room.ended = now
    if parts:
        ctx = Ctx(session=session, settings=settings, principal=caller.principal)
        # joined only through someone else's invite (never with a token of their own)
        issued = session.scalars(select(VideoToken).where(VideoToken.room_id == room.id)).all()
        own = {t.username for t in issued if t.issued_by == t.username}
        invited = {t.username for t in issued if t.issued_by != t.username} - own
        created = service.create(ctx, "Encounter", encounter_body(room, parts, invited, now))
        room.encounter_id = str(created["id"])
    audit.record(session, caller.principal, "video-end", room.patient_id, [_subject(room)])
    session.commit()
    return room
