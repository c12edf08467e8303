"""Slots and appointments: list free slots, book, reschedule, cancel.

A slot is held by at most one appointment because ``appointments.active_slot_id`` is UNIQUE: two
concurrent bookings of one slot cannot both commit, on SQLite or PostgreSQL; the loser gets 409.
Booking and rescheduling accept an ``Idempotency-Key``: the first response for (caller, key) is stored in
the same transaction as the booking and replayed for a repeat of the same request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from clinical_api import audit
from clinical_api.access import patient_filter, require_patient, require_read, require_write
from clinical_api.context import Ctx
from clinical_api.errors import FhirError
from clinical_api.fhir import CARELINE, JOIN_URL_EXT, ref_id, validate
from clinical_api.models import Appointment, IdempotencyKey, Resource, Slot
from clinical_api.service import _date_clauses, check_token
from clinical_api.util import iso, new_id, parse_fhir_datetime, utcnow, valid_id

SERVICE_SYSTEM = f"{CARELINE}/CodeSystem/service-type"


def slot_to_fhir(slot: Slot) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": slot.id,
        "meta": {"versionId": str(slot.version_id), "lastUpdated": iso(slot.last_updated)},
        "schedule": {"reference": f"Schedule/{slot.schedule_id}"},
        "status": slot.status,
        "start": iso(slot.start),
        "end": iso(slot.end),
        "serviceType": [{"coding": [{"system": SERVICE_SYSTEM, "code": slot.service_type}]}],
    }


def appointment_to_fhir(appt: Appointment, slot: Slot) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appt.id,
        "meta": {"versionId": str(appt.version_id), "lastUpdated": iso(appt.last_updated)},
        "extension": [{"url": JOIN_URL_EXT, "valueUrl": appt.join_url}],
        "status": appt.status,
        "serviceType": [{"coding": [{"system": SERVICE_SYSTEM, "code": slot.service_type}]}],
        "start": iso(slot.start),
        "end": iso(slot.end),
        "created": iso(appt.created),
        "slot": [{"reference": f"Slot/{slot.id}"}],
        "participant": [{"actor": {"reference": f"Patient/{appt.patient_id}"}, "status": "accepted"}],
    }


def create_slot(ctx: Ctx, body: Any) -> dict[str, Any]:
    require_write(ctx.principal, "Slot")
    data = validate("Slot", body)
    schedule_id = ref_id(data.get("schedule"), "Schedule")
    schedule = ctx.session.get(Resource, ("Schedule", schedule_id)) if schedule_id else None
    if schedule is None or schedule_id is None:
        raise FhirError(400, "schedule must reference an existing Schedule", "invalid")
    start, _ = parse_fhir_datetime(data["start"])
    end, _ = parse_fhir_datetime(data["end"])
    if end <= start:
        raise FhirError(400, "end must be after start", "invalid")
    codes = [
        c.get("code")
        for st in data.get("serviceType") or []
        for c in (st.get("coding") or [])
        if c.get("code")
    ]
    slot = Slot(
        id=new_id(),
        schedule_id=schedule_id,
        department=schedule.department,
        service_type=(codes[0] if codes else "video-consult")[:40],
        start=start,
        end=end,
        status=data["status"] if data["status"] in ("free", "busy-unavailable") else "free",
        version_id=1,
        last_updated=utcnow(),
    )
    ctx.session.add(slot)
    ctx.session.flush()
    return slot_to_fhir(slot)


def read_slot(ctx: Ctx, sid: str) -> dict[str, Any]:
    slot = ctx.session.get(Slot, sid) if valid_id(sid) else None
    if slot is None:
        raise FhirError(404, "Slot not found")
    return slot_to_fhir(slot)


def search_slots(
    ctx: Ctx,
    *,
    status: str | None,
    start: list[str],
    department: str | None,
    schedule: str | None,
    count: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Slots ordered by start; ``status=free&start=ge<now>`` lists what can be booked."""
    query: Select[Slot] = select(Slot)
    status = check_token("status", status)
    if status:
        query = query.where(Slot.status.in_(status.split(",")))
    if check_token("department", department):
        query = query.where(Slot.department == department)
    if check_token("schedule", schedule) and schedule:
        query = query.where(Slot.schedule_id == schedule.split("/")[-1])
    for clause in _date_clauses(Slot.start, start):
        query = query.where(clause)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    slots = ctx.session.scalars(query.order_by(Slot.start, Slot.id).limit(count).offset(offset)).all()
    return [slot_to_fhir(s) for s in slots], int(total)


def _load_appointment(ctx: Ctx, aid: str) -> tuple[Appointment, Slot]:
    appt = ctx.session.get(Appointment, aid) if valid_id(aid) else None
    if appt is None:
        raise FhirError(404, "Appointment not found")
    require_read(ctx.principal, "Appointment")
    require_patient(ctx.session, ctx.settings, ctx.principal, appt.patient_id)
    slot = ctx.session.get(Slot, appt.slot_id)
    assert slot is not None
    return appt, slot


def read_appointment(ctx: Ctx, aid: str) -> dict[str, Any]:
    appt, slot = _load_appointment(ctx, aid)
    audit.record(ctx.session, ctx.principal, "read", appt.patient_id, [f"Appointment/{appt.id}"])
    return appointment_to_fhir(appt, slot)


def search_appointments(
    ctx: Ctx, *, patient: str | None, status: str | None, date: list[str], count: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    require_read(ctx.principal, "Appointment")
    query = (
        select(Appointment, Slot)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(patient_filter(ctx.settings, ctx.principal, Appointment.patient_id))
    )
    pid = None
    if check_token("patient", patient) and patient:
        pid = patient.split("/")[-1]
        query = query.where(Appointment.patient_id == pid)
    if check_token("status", status) and status:
        query = query.where(Appointment.status.in_(status.split(",")))
    for clause in _date_clauses(Slot.start, date):
        query = query.where(clause)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.execute(query.order_by(Slot.start, Appointment.id).limit(count).offset(offset)).all()
    by_patient: dict[str, list[str]] = {}
    for appt, _slot in rows:
        by_patient.setdefault(appt.patient_id, []).append(f"Appointment/{appt.id}")
    if not rows and pid:
        by_patient[pid] = []
    for p, refs in by_patient.items():
        audit.record(ctx.session, ctx.principal, "search-type", p, refs)
    return [appointment_to_fhir(a, s) for a, s in rows], int(total)


def _join_url(ctx: Ctx) -> str:
    base = ctx.settings.server.video_base_url.rstrip("/")
    return f"{base}/{secrets.token_urlsafe(16)}"


def _take_slot(ctx: Ctx, slot_id: str | None) -> Slot:
    slot = ctx.session.get(Slot, slot_id) if slot_id else None
    if slot is None:
        raise FhirError(404, "Slot not found")
    if slot.status != "free":
        raise FhirError(409, "the slot is already booked", "conflict")
    if slot.start <= utcnow():
        raise FhirError(422, "the slot has already started", "business-rule")
    return slot


def book(ctx: Ctx, body: Any) -> tuple[int, dict[str, Any]]:
    """Book the slot named in an Appointment for the patient among its participants."""
    require_write(ctx.principal, "Appointment")
    data = validate("Appointment", body)
    slot_refs = data.get("slot") or []
    if len(slot_refs) != 1:
        raise FhirError(400, "an appointment books exactly one slot", "invalid")
    slot_id = ref_id(slot_refs[0], "Slot")
    patients = [ref_id(p.get("actor"), "Patient") for p in data.get("participant") or []]
    patients = [p for p in patients if p]
    if len(patients) != 1:
        raise FhirError(400, "an appointment names exactly one Patient participant", "invalid")
    patient_id = patients[0]
    require_patient(ctx.session, ctx.settings, ctx.principal, patient_id)
    if ctx.session.get(Resource, ("Patient", patient_id)) is None:
        raise FhirError(404, "Patient not found")
    slot = _take_slot(ctx, slot_id)
    now = utcnow()
    appt = Appointment(
        id=new_id(),
        slot_id=slot.id,
        active_slot_id=slot.id,
        patient_id=patient_id,
        department=slot.department,
        status="booked",
        join_url=_join_url(ctx),
        version_id=1,
        created=now,
        last_updated=now,
    )
    ctx.session.add(appt)
    ctx.session.flush()  # the UNIQUE(active_slot_id) check happens here
    slot.status = "busy"
    slot.version_id += 1
    slot.last_updated = now
    ctx.session.flush()
    audit.record(
        ctx.session, ctx.principal, "create", patient_id, [f"Appointment/{appt.id}", f"Slot/{slot.id}"]
    )
    return 201, appointment_to_fhir(appt, slot)


def reschedule(ctx: Ctx, aid: str, body: Any) -> tuple[int, dict[str, Any]]:
    """Move a booked appointment to another free slot (a Parameters body with ``slot`` valueReference)."""
    require_write(ctx.principal, "Appointment")
    data = validate("Parameters", body)
    slot_id = None
    for param in data.get("parameter") or []:
        if param.get("name") == "slot":
            slot_id = ref_id(param.get("valueReference"), "Slot")
    if slot_id is None:
        raise FhirError(400, "parameter slot (valueReference Slot/<id>) required", "required")
    appt, old_slot = _load_appointment(ctx, aid)
    if appt.status != "booked":
        raise FhirError(409, "only a booked appointment can be rescheduled", "business-rule")
    if slot_id == old_slot.id:
        return 200, appointment_to_fhir(appt, old_slot)
    new_slot = _take_slot(ctx, slot_id)
    now = utcnow()
    appt.active_slot_id = None
    ctx.session.flush()
    appt.slot_id = new_slot.id
    appt.active_slot_id = new_slot.id
    appt.department = new_slot.department
    appt.version_id += 1
    appt.last_updated = now
    ctx.session.flush()
    for slot, status in ((old_slot, "free"), (new_slot, "busy")):
        slot.status = status
        slot.version_id += 1
        slot.last_updated = now
    ctx.session.flush()
    audit.record(ctx.session, ctx.principal, "update", appt.patient_id, [f"Appointment/{appt.id}"])
    return 200, appointment_to_fhir(appt, new_slot)


def cancel(ctx: Ctx, aid: str) -> dict[str, Any]:
    """Cancel an appointment and free its slot (cancelling twice returns the cancelled appointment)."""
    require_write(ctx.principal, "Appointment")
    appt, slot = _load_appointment(ctx, aid)
    if appt.status != "cancelled":
        now = utcnow()
        appt.status = "cancelled"
        appt.active_slot_id = None
        appt.version_id += 1
        appt.last_updated = now
        slot.status = "free"
        slot.version_id += 1
        slot.last_updated = now
        ctx.session.flush()
    audit.record(ctx.session, ctx.principal, "update", appt.patient_id, [f"Appointment/{appt.id}"])
    return appointment_to_fhir(appt, slot)


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    ctx: Ctx,
    key: str | None,
    req_hash: str,
    action: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run `action` once per (caller, key) and commit; a repeat replays the stored response.

    Any unique-constraint failure (the slot taken, or the same key racing) rolls everything back; then a
    stored response for the key wins, otherwise the caller gets 409.
    """
    session = ctx.session
    owner = f"{ctx.principal.username}:{ctx.principal.patient_id or ''}"[:128]
    if key is not None and (not key.strip() or len(key) > 200 or "\x00" in key):
        raise FhirError(400, "Idempotency-Key must be 1-200 characters", "invalid")

    def replay() -> tuple[int, dict[str, Any]] | None:
        if key is None:
            return None
        stored = session.get(IdempotencyKey, (owner, key))
        if stored is None:
            return None
        if stored.request_hash != req_hash:
            raise FhirError(422, "Idempotency-Key reused with a different request", "business-rule")
        return stored.status_code, stored.response

    found = replay()
    if found is not None:
        session.rollback()
        return found
    try:
        status, body = action()
        if key is not None:
            session.add(
                IdempotencyKey(
                    principal=owner,
                    key=key,
                    request_hash=req_hash,
                    status_code=status,
                    response=body,
                    created=utcnow(),
                )
            )
        session.commit()
        return status, body
    except IntegrityError:
        session.rollback()
    found = replay()
    session.rollback()
    if found is not None:
        return found
    raise FhirError(409, "the slot is already booked", "conflict")


def slot_resource(schedule_id: str, start: datetime, minutes: int = 30) -> dict[str, Any]:
    """A free FHIR Slot of `minutes` on `schedule_id` (what an admin POSTs to open a consult time)."""
    return {
        "resourceType": "Slot",
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": "free",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
    }
