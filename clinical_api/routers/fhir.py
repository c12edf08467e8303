"""FHIR REST endpoints under /fhir. Each handler: parse, call one service function, commit, respond."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clinical_api import audit, scheduling, service
from clinical_api.access import require_patient, require_read, require_write
from clinical_api.context import Ctx
from clinical_api.deps import FhirResponse, bundle, commit, get_ctx, resource_response
from clinical_api.errors import FhirError
from clinical_api.fhir import TRIAGE_PRIORITY
from clinical_api.models import BinaryBlob, Resource
from clinical_api.util import ID_RE, new_id, utcnow, valid_id

router = APIRouter(prefix="/fhir", tags=["fhir"])

ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
MAX_COUNT = 100


class ReadType(StrEnum):
    Patient = "Patient"
    Practitioner = "Practitioner"
    PractitionerRole = "PractitionerRole"
    Organization = "Organization"
    Encounter = "Encounter"
    QuestionnaireResponse = "QuestionnaireResponse"
    Composition = "Composition"
    Task = "Task"
    Schedule = "Schedule"
    CarePlan = "CarePlan"
    Observation = "Observation"
    DocumentReference = "DocumentReference"
    Media = "Media"
    AuditEvent = "AuditEvent"
    Communication = "Communication"
    ImagingStudy = "ImagingStudy"


class WriteType(StrEnum):
    Patient = "Patient"
    Practitioner = "Practitioner"
    PractitionerRole = "PractitionerRole"
    Organization = "Organization"
    Encounter = "Encounter"
    QuestionnaireResponse = "QuestionnaireResponse"
    Composition = "Composition"
    Task = "Task"
    Schedule = "Schedule"
    CarePlan = "CarePlan"
    Observation = "Observation"
    DocumentReference = "DocumentReference"
    Media = "Media"
    Communication = "Communication"


def _count(count: int) -> int:
    return min(count, MAX_COUNT)


CountQ = Query(20, alias="_count", ge=0, le=1_000_000, description="Page size (at most 100)")
OffsetQ = Query(0, alias="_offset", ge=0, le=10_000_000, description="Entries to skip")


@router.get("/metadata", include_in_schema=True)
def metadata() -> FhirResponse:
    """A minimal CapabilityStatement."""
    types = [t.value for t in ReadType] + ["Slot", "Appointment", "Binary"]
    return FhirResponse(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2025-01-01",
            "kind": "instance",
            "fhirVersion": "4.3.0",
            "format": ["json"],
            "rest": [{"mode": "server", "resource": [{"type": t} for t in types]}],
        }
    )


# --- scheduling ---------------------------------------------------------------------------------------


@router.post("/Slot", status_code=201)
def create_slot(
    request: Request, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(get_ctx)
) -> FhirResponse:
    created = scheduling.create_slot(ctx, body)
    commit(request, ctx)
    return FhirResponse(created, status_code=201)


@router.get("/Slot")
def search_slots(
    request: Request,
    status: str | None = Query(None, description="free | busy (comma = or)"),
    start: list[str] = Query([], description="Slot start, e.g. ge2025-01-01T00:00:00Z"),
    department: str | None = None,
    schedule: str | None = None,
    count: int = CountQ,
    offset: int = OffsetQ,
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    found, total = scheduling.search_slots(
        ctx,
        status=status,
        start=start,
        department=department,
        schedule=schedule,
        count=_count(count),
        offset=offset,
    )
    return bundle(request, "Slot", found, total, _count(count), offset)


@router.get("/Slot/{sid}")
def read_slot(sid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    return resource_response(scheduling.read_slot(ctx, sid))


@router.post("/Appointment", status_code=201)
def book(
    request: Request,
    body: dict[str, Any] = Body(...),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    """Book a slot: an Appointment naming one Slot and one Patient. Retries with the same Idempotency-Key
    and body return the first result; a slot already held gives 409."""
    req_hash = scheduling.request_hash("POST", "/fhir/Appointment", body)
    status, result = scheduling.run_idempotent(
        ctx, idempotency_key, req_hash, lambda: scheduling.book(ctx, body)
    )
    return resource_response(result, status, str(request.base_url).rstrip("/"))


@router.get("/Appointment")
def search_appointments(
    request: Request,
    patient: str | None = None,
    status: str | None = None,
    date: list[str] = Query([]),
    count: int = CountQ,
    offset: int = OffsetQ,
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    found, total = scheduling.search_appointments(
        ctx, patient=patient, status=status, date=date, count=_count(count), offset=offset
    )
    commit(request, ctx)
    return bundle(request, "Appointment", found, total, _count(count), offset)


@router.get("/Appointment/{aid}")
def read_appointment(request: Request, aid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    found = scheduling.read_appointment(ctx, aid)
    commit(request, ctx)
    return resource_response(found)


@router.post("/Appointment/{aid}/$reschedule")
def reschedule(
    request: Request,
    aid: str,
    body: dict[str, Any] = Body(...),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    """Move the appointment to another free slot: Parameters with ``slot`` = valueReference Slot/<id>."""
    req_hash = scheduling.request_hash("POST", f"/fhir/Appointment/{aid}/$reschedule", body)
    status, result = scheduling.run_idempotent(
        ctx, idempotency_key, req_hash, lambda: scheduling.reschedule(ctx, aid, body)
    )
    return resource_response(result, status)


@router.post("/Appointment/{aid}/$cancel")
def cancel(request: Request, aid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    result = scheduling.cancel(ctx, aid)
    commit(request, ctx)
    return resource_response(result)


# --- workflow operations ------------------------------------------------------------------------------


class TriageTaskIn(BaseModel):
    """A review or escalation Task; its priority follows from the triage level."""

    patient_id: str = Field(pattern=ID_PATTERN)
    triage_level: Literal["emergency_ambulance", "emergency", "consultation_24", "consultation", "self_care"]
    kind: Literal["nurse-review", "doctor-escalation"] = "nurse-review"
    department: str | None = Field(None, pattern=ID_PATTERN)
    focus: str | None = Field(None, pattern=r"^[A-Za-z]{1,40}/[A-Za-z0-9\-.]{1,64}$")
    rule: str | None = Field(
        None, pattern=r"^[A-Za-z0-9\-._:]{1,64}$", description="Id of the rule that fired"
    )


assert set(TRIAGE_PRIORITY) == {
    "emergency_ambulance",
    "emergency",
    "consultation_24",
    "consultation",
    "self_care",
}


@router.post("/Task/$from-triage", status_code=201)
def task_from_triage(request: Request, body: TriageTaskIn, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    created = service.task_from_triage(
        ctx,
        patient_id=body.patient_id,
        triage_level=body.triage_level,
        kind=body.kind,
        department=body.department,
        focus=body.focus,
        rule=body.rule,
    )
    commit(request, ctx)
    return resource_response(created, 201, str(request.base_url).rstrip("/"))


@router.post("/Composition/{cid}/$sign")
def sign_composition(request: Request, cid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    """A nurse or doctor signs off the pre-consult summary (preliminary -> final, new version)."""
    signed = service.sign_composition(ctx, cid)
    commit(request, ctx)
    return resource_response(signed)


# --- binary uploads (photos) --------------------------------------------------------------------------

ALLOWED_UPLOADS = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")


@router.post("/Binary", status_code=201)
async def upload_binary(
    request: Request,
    patient: str = Query(..., pattern=ID_PATTERN, description="Patient id the bytes belong to"),
    content_type: str = Header("application/octet-stream", alias="Content-Type"),
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    """Upload raw bytes (a photo); reference the result as ``Binary/<id>`` from a DocumentReference/Media."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in ALLOWED_UPLOADS:
        raise FhirError(415, f"Content-Type must be one of {', '.join(ALLOWED_UPLOADS)}", "not-supported")
    data = await request.body()
    if not data:
        raise FhirError(400, "empty upload", "required")

    def _store() -> dict[str, Any]:
        require_write(ctx.principal, "Binary")
        require_patient(ctx.session, ctx.settings, ctx.principal, patient)
        if ctx.session.get(Resource, ("Patient", patient)) is None:
            raise FhirError(404, "Patient not found")
        blob = BinaryBlob(
            id=new_id(), patient_id=patient, content_type=ctype, size=len(data), data=data, created=utcnow()
        )
        ctx.session.add(blob)
        audit.record(ctx.session, ctx.principal, "create", patient, [f"Binary/{blob.id}"])
        commit(request, ctx)
        return {
            "resourceType": "Binary",
            "id": blob.id,
            "contentType": ctype,
            "securityContext": {"reference": f"Patient/{patient}"},
        }

    return FhirResponse(await run_in_threadpool(_store), status_code=201)


@router.get("/Binary/{bid}")
def read_binary(request: Request, bid: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    blob = ctx.session.get(BinaryBlob, bid) if valid_id(bid) else None
    if blob is None:
        raise FhirError(404, "Binary not found")
    require_read(ctx.principal, "Binary")
    require_patient(ctx.session, ctx.settings, ctx.principal, blob.patient_id)
    audit.record(ctx.session, ctx.principal, "read", blob.patient_id, [f"Binary/{blob.id}"])
    commit(request, ctx)
    return Response(blob.data, media_type=blob.content_type)


# --- generic resource interactions ---------------------------------------------------------------------


@router.post("/{resource_type}", status_code=201)
def create(
    request: Request, resource_type: WriteType, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(get_ctx)
) -> FhirResponse:
    created = service.create(ctx, resource_type.value, body)
    commit(request, ctx)
    return resource_response(created, 201, str(request.base_url).rstrip("/"))


@router.get("/{resource_type}")
def search(
    request: Request,
    resource_type: ReadType,
    patient: str | None = Query(None, description="Patient id or Patient/<id>"),
    subject: str | None = Query(None, description="Same as patient"),
    status: str | None = Query(None, description="Status code(s), comma = or"),
    date: list[str] = Query([], description="Clinical date with prefix: ge/gt/le/lt/eq, repeatable"),
    priority: str | None = Query(None, description="Task priority: routine | urgent | asap | stat"),
    department: str | None = Query(None, description="Department (Organization id)"),
    code: str | None = Query(None, description="Observation/Task/Composition code"),
    agent: str | None = Query(None, description="AuditEvent: username of the agent"),
    identifier: str | None = Query(None, description="Patient identifier: system|value or value"),
    count: int = CountQ,
    offset: int = OffsetQ,
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    params = service.SearchParams(
        patient=patient or subject,
        status=status,
        date=date,
        priority=priority,
        department=department,
        code=code,
        agent=agent,
        identifier=identifier,
        count=_count(count),
        offset=offset,
    )
    found, total = service.search(ctx, resource_type.value, params)
    commit(request, ctx)
    return bundle(request, resource_type.value, found, total, params.count, offset)


@router.get("/{resource_type}/{rid}")
def read(request: Request, resource_type: ReadType, rid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    found = service.read(ctx, resource_type.value, rid)
    commit(request, ctx)
    return resource_response(found)


@router.put("/{resource_type}/{rid}")
def update(
    request: Request,
    resource_type: WriteType,
    rid: str,
    body: dict[str, Any] = Body(...),
    if_match: str | None = Header(None, alias="If-Match"),
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    """Store a new version; the previous stays readable at ``_history/<vid>``. If-Match guards lost updates."""
    updated = service.update(ctx, resource_type.value, rid, body, service.parse_if_match(if_match))
    commit(request, ctx)
    return resource_response(updated)


@router.get("/{resource_type}/{rid}/_history")
def history(request: Request, resource_type: ReadType, rid: str, ctx: Ctx = Depends(get_ctx)) -> FhirResponse:
    versions = service.history(ctx, resource_type.value, rid)
    commit(request, ctx)
    base = str(request.base_url).rstrip("/")
    return FhirResponse(
        {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(versions),
            "entry": [
                {"fullUrl": f"{base}/fhir/{resource_type.value}/{rid}", "resource": v} for v in versions
            ],
        }
    )


@router.get("/{resource_type}/{rid}/_history/{vid}")
def vread(
    request: Request,
    resource_type: ReadType,
    rid: str,
    vid: str = Path(..., description="versionId"),
    ctx: Ctx = Depends(get_ctx),
) -> FhirResponse:
    found = service.vread(ctx, resource_type.value, rid, vid)
    commit(request, ctx)
    return resource_response(found)


__all__ = ["ID_RE", "router"]
