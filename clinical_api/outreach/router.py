"""Outreach endpoints: the patient's notification centre (list, live stream, mark read), contact
preferences, the staff view of a patient's outreach jobs, and one-tap appointment links.

Notifications belong to one patient: only a principal bound to that patient (the patient, or a
patient-scoped service token) reads them. Every read of patient data is audited.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Body, Depends, Form, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from clinical_api import audit, scheduling
from clinical_api.access import forbidden, require_patient
from clinical_api.auth import Principal, current_principal
from clinical_api.context import Ctx
from clinical_api.deps import commit, get_ctx
from clinical_api.errors import FhirError
from clinical_api.models import Appointment, Slot
from clinical_api.outreach.callstatus import record_call_status
from clinical_api.outreach.links import check_attempt_sig, read_token
from clinical_api.outreach.preferences import HHMM_RE, valid_email, valid_phone
from clinical_api.outreach.tables import (
    OutreachAttempt,
    OutreachJob,
    OutreachNotification,
    OutreachPreference,
)
from clinical_api.util import ID_RE, iso, utcnow

router = APIRouter(prefix="/outreach", tags=["outreach"])
ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
KEEPALIVE_S = 15.0


def _own_patient(principal: Principal) -> str:
    patient_id = principal.bound_patient
    if patient_id is None:
        raise forbidden("notifications are read by their patient only")
    return patient_id


def notification_json(n: OutreachNotification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created": iso(n.created),
        "read": n.read_at is not None,
    }


@router.get("/notifications")
def list_notifications(
    request: Request,
    unread: bool = Query(False, description="Only notifications not read yet"),
    limit: int = Query(50, ge=1, le=200),
    ctx: Ctx = Depends(get_ctx),
) -> dict[str, Any]:
    """The caller's notifications, newest first."""
    patient_id = _own_patient(ctx.principal)
    query = select(OutreachNotification).where(OutreachNotification.patient_id == patient_id)
    if unread:
        query = query.where(OutreachNotification.read_at.is_(None))
    rows = ctx.session.scalars(query.order_by(OutreachNotification.id.desc()).limit(limit)).all()
    audit.record(
        ctx.session, ctx.principal, "search-type", patient_id, [f"OutreachNotification/{r.id}" for r in rows]
    )
    commit(request, ctx)
    return {"notifications": [notification_json(r) for r in rows]}


@router.post("/notifications/{nid}/read")
def mark_read(
    request: Request, nid: int = Path(..., ge=1, le=2**31 - 1), ctx: Ctx = Depends(get_ctx)
) -> dict[str, Any]:
    patient_id = _own_patient(ctx.principal)
    row = ctx.session.get(OutreachNotification, nid)
    if row is None or row.patient_id != patient_id:
        raise FhirError(404, "notification not found")
    if row.read_at is None:
        row.read_at = utcnow()
    audit.record(ctx.session, ctx.principal, "update", patient_id, [f"OutreachNotification/{row.id}"])
    commit(request, ctx)
    return notification_json(row)


@router.get("/notifications/stream", include_in_schema=False)
async def stream_notifications(
    request: Request,
    after: int | None = Query(
        None, ge=0, description="Send notifications with a larger id (default: new ones)"
    ),
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
    principal: Principal = Depends(current_principal),
) -> StreamingResponse:
    """text/event-stream of ``notification`` events for the caller. The table is the bus: workers in other
    processes write notifications, the stream looks for new rows every ``outreach.stream_poll_s``."""
    patient_id = _own_patient(principal)
    factory = request.app.state.sessionmaker
    poll_s = request.app.state.settings.outreach.stream_poll_s
    if last_event_id and last_event_id.isdigit():
        after = int(last_event_id)

    def newest() -> int:
        with factory() as session:
            found = session.scalar(
                select(OutreachNotification.id)
                .where(OutreachNotification.patient_id == patient_id)
                .order_by(OutreachNotification.id.desc())
                .limit(1)
            )
            return int(found or 0)

    def fetch(cursor: int) -> list[dict[str, Any]]:
        with factory() as session:
            rows = session.scalars(
                select(OutreachNotification)
                .where(OutreachNotification.patient_id == patient_id, OutreachNotification.id > cursor)
                .order_by(OutreachNotification.id)
                .limit(100)
            ).all()
            if rows:
                audit.record(
                    session, principal, "read", patient_id, [f"OutreachNotification/{r.id}" for r in rows]
                )
                session.commit()
            return [notification_json(r) for r in rows]

    cursor = after if after is not None else await run_in_threadpool(newest)

    async def stream() -> AsyncIterator[str]:
        nonlocal cursor
        yield ": subscribed\n\n"
        idle = 0.0
        while not await request.is_disconnected():
            items = await run_in_threadpool(fetch, cursor)
            for item in items:
                cursor = item["id"]
                yield f"event: notification\nid: {item['id']}\ndata: {json.dumps(item)}\n\n"
            if not items:
                idle += poll_s
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keepalive\n\n"
                await asyncio.sleep(poll_s)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


Channel = Literal["app", "phone", "email"]


def _all_channels() -> list[Channel]:
    return ["app", "phone", "email"]


class Preferences(BaseModel):
    """How a patient wants to be reached."""

    channels: list[Channel] = Field(default_factory=_all_channels, max_length=3)
    phone: str | None = Field(None, description="E.164, e.g. +8613800138000")
    email: str | None = Field(None, max_length=254)
    language: Literal["en", "zh"] = "en"
    timezone: str = Field("UTC", max_length=64)
    quiet_start: str | None = Field(None, description="HH:MM local time")
    quiet_end: str | None = Field(None, description="HH:MM local time")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not valid_phone(value):
            raise ValueError("phone must be E.164, e.g. +14155550100")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not valid_email(value):
            raise ValueError("not a valid e-mail address")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError("unknown time zone (IANA name expected, e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not HHMM_RE.fullmatch(value):
            raise ValueError("time must be HH:MM")
        return value


def _reach(ctx: Ctx, patient_id: str) -> None:
    if not ID_RE.fullmatch(patient_id):
        raise FhirError(404, "patient not found")
    if ctx.principal.role == "service" and ctx.principal.scope != "patient":
        raise forbidden("a service reaches patient data only with a patient-scoped token")
    require_patient(ctx.session, ctx.settings, ctx.principal, patient_id)


@router.get("/preferences/{patient_id}")
def get_preferences(request: Request, patient_id: str, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _reach(ctx, patient_id)
    row = ctx.session.get(OutreachPreference, patient_id)
    audit.record(ctx.session, ctx.principal, "read", patient_id, [f"Patient/{patient_id}"])
    commit(request, ctx)
    if row is None:
        return {"patient": patient_id, "stored": False}
    return {"patient": patient_id, "stored": True, **_pref_json(row)}


@router.put("/preferences/{patient_id}")
def put_preferences(
    request: Request, patient_id: str, body: Preferences = Body(...), ctx: Ctx = Depends(get_ctx)
) -> dict[str, Any]:
    _reach(ctx, patient_id)
    if ctx.principal.role not in ("patient", "nurse", "doctor", "service"):
        raise forbidden("only the patient or their care team set contact preferences", patient_id)
    row = ctx.session.get(OutreachPreference, patient_id)
    if row is None:
        row = OutreachPreference(
            patient_id=patient_id, channels=[], language="en", timezone="UTC", updated=utcnow()
        )
        ctx.session.add(row)
    row.channels = list(dict.fromkeys(body.channels))
    row.phone, row.email = body.phone, body.email
    row.language, row.timezone = body.language, body.timezone
    row.quiet_start, row.quiet_end = body.quiet_start, body.quiet_end
    row.updated = utcnow()
    audit.record(ctx.session, ctx.principal, "update", patient_id, [f"Patient/{patient_id}"])
    commit(request, ctx)
    return {"patient": patient_id, "stored": True, **_pref_json(row)}


def _pref_json(row: OutreachPreference) -> dict[str, Any]:
    return {
        "channels": row.channels,
        "phone": row.phone,
        "email": row.email,
        "language": row.language,
        "timezone": row.timezone,
        "quiet_start": row.quiet_start,
        "quiet_end": row.quiet_end,
    }


@router.get("/jobs")
def list_jobs(
    request: Request,
    patient: str = Query(..., pattern=ID_PATTERN),
    limit: int = Query(50, ge=1, le=200),
    ctx: Ctx = Depends(get_ctx),
) -> dict[str, Any]:
    """A patient's outreach jobs with their attempts (for the care team and the patient)."""
    _reach(ctx, patient)
    jobs = ctx.session.scalars(
        select(OutreachJob)
        .where(OutreachJob.patient_id == patient)
        .order_by(OutreachJob.due_at.desc())
        .limit(limit)
    ).all()
    attempts: dict[str, list[dict[str, Any]]] = {}
    if jobs:
        for a in ctx.session.scalars(
            select(OutreachAttempt)
            .where(OutreachAttempt.job_id.in_([j.id for j in jobs]))
            .order_by(OutreachAttempt.created)
        ):
            attempts.setdefault(a.job_id, []).append(
                {
                    "id": a.id,
                    "channel": a.channel,
                    "outcome": a.outcome,
                    "reason": a.reason,
                    "at": iso(a.created),
                }
            )
    audit.record(ctx.session, ctx.principal, "search-type", patient, [f"Patient/{patient}"])
    commit(request, ctx)
    return {
        "jobs": [
            {
                "id": j.id,
                "kind": j.kind,
                "source": j.source,
                "due": iso(j.due_at),
                "status": j.status,
                "sends": j.sends,
                "reason": j.reason,
                "attempts": attempts.get(j.id, []),
            }
            for j in jobs
        ]
    }


# --- one-tap appointment links -------------------------------------------------------------------------


def _link_ctx(ctx: Ctx, token: str) -> tuple[Ctx, str]:
    """A patient principal for the appointment the link names (the link is the credential)."""
    claims = read_token(ctx.settings, token)
    principal = Principal(
        username=f"link:{claims.patient_id}"[:128],
        user_id="link",
        role="patient",
        patient_id=claims.patient_id,
    )
    return Ctx(session=ctx.session, settings=ctx.settings, principal=principal), claims.appointment_id


@router.get("/a/{token}")
def view_link(request: Request, token: str) -> dict[str, Any]:
    """What the link is for: the appointment and free slots of the same department to move it to."""
    with request.app.state.sessionmaker() as session:
        ctx, aid = _link_ctx(_anon(request, session), token)
        appointment = scheduling.read_appointment(ctx, aid)
        appt = session.get(Appointment, aid)
        assert appt is not None
        slots = session.scalars(
            select(Slot)
            .where(Slot.status == "free", Slot.department == appt.department, Slot.start > utcnow())
            .order_by(Slot.start)
            .limit(10)
        ).all()
        session.commit()
    return {
        "appointment": appointment,
        "free_slots": [scheduling.slot_to_fhir(s) for s in slots],
        "actions": {"cancel": f"{request.url}/cancel", "reschedule": f"{request.url}/reschedule"},
    }


class RescheduleBody(BaseModel):
    slot: str = Field(..., pattern=ID_PATTERN)


@router.post("/a/{token}/cancel")
def cancel_link(request: Request, token: str) -> dict[str, Any]:
    with request.app.state.sessionmaker() as session:
        ctx, aid = _link_ctx(_anon(request, session), token)
        result = scheduling.cancel(ctx, aid)
        session.commit()
    return {"appointment": result}


@router.post("/a/{token}/reschedule")
def reschedule_link(request: Request, token: str, body: RescheduleBody = Body(...)) -> dict[str, Any]:
    with request.app.state.sessionmaker() as session:
        ctx, aid = _link_ctx(_anon(request, session), token)
        params = {
            "resourceType": "Parameters",
            "parameter": [{"name": "slot", "valueReference": {"reference": f"Slot/{body.slot}"}}],
        }
        key = f"link:{aid}:{body.slot}"
        _status, result = scheduling.run_idempotent(
            ctx,
            key,
            scheduling.request_hash("POST", f"/outreach/a/{aid}/reschedule", params),
            lambda: scheduling.reschedule(ctx, aid, params),
        )
    return {"appointment": result}


def _anon(request: Request, session: Any) -> Ctx:
    return Ctx(
        session=session, settings=request.app.state.settings, principal=Principal("link", "", "patient")
    )


@router.post("/telephony/status", include_in_schema=False)
def call_status(
    request: Request,
    attempt: str = Query(..., max_length=100),
    sig: str = Query(..., max_length=64),
    call_sid: str = Form(..., alias="CallSid", max_length=100),
    call_status: str = Form(..., alias="CallStatus", max_length=20),
) -> dict[str, str]:
    """The telephony provider's StatusCallback; the signed URL is the credential."""
    settings = request.app.state.settings
    if not check_attempt_sig(settings, attempt, sig):
        raise forbidden("invalid status callback signature")
    with request.app.state.sessionmaker() as session:
        result = record_call_status(session, settings, attempt, call_sid, call_status, utcnow())
        session.commit()
    return {"result": result}
