"""Create, read, version, update and search FHIR resources kept in the generic table.

Plain functions over a `Ctx`; routers stay thin. Every access to patient data adds an AuditEvent to the
same transaction, so the data change and its audit record commit together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.exc import IntegrityError

from clinical_api import audit
from clinical_api.access import (
    forbidden,
    patient_filter,
    require_patient,
    require_read,
    require_write,
)
from clinical_api.context import Ctx
from clinical_api.errors import FhirError
from clinical_api.events import TaskEvent
from clinical_api.fhir import (
    COMPARTMENT_TYPES,
    TASK_KIND_SYSTEM,
    TRIAGE_LEVEL_SYSTEM,
    TRIAGE_PRIORITY,
    index_columns,
    triage_level_of,
    validate,
)
from clinical_api.models import PatientIdentifier, Resource, ResourceVersion
from clinical_api.util import TOKEN_RE, iso, new_id, parse_fhir_datetime, utcnow, valid_id

SIGNED = frozenset({"final", "amended"})


@dataclass
class SearchParams:
    """The search parameters every type understands (those a type has no column for match nothing)."""

    patient: str | None = None
    status: str | None = None
    date: list[str] = field(default_factory=list)
    priority: str | None = None
    department: str | None = None
    code: str | None = None
    agent: str | None = None
    identifier: str | None = None
    count: int = 20
    offset: int = 0


def _load(ctx: Ctx, resource_type: str, rid: str) -> Resource:
    if not valid_id(rid):
        raise FhirError(404, f"{resource_type} not found")
    row = ctx.session.get(Resource, (resource_type, rid))
    if row is None:
        raise FhirError(404, f"{resource_type}/{rid} not found")
    return row


def _check_read(ctx: Ctx, row: Resource) -> None:
    require_read(ctx.principal, row.resource_type)
    if row.resource_type in COMPARTMENT_TYPES:
        require_patient(ctx.session, ctx.settings, ctx.principal, row.patient_id)


def _store(ctx: Ctx, resource_type: str, rid: str, body: dict[str, Any], row: Resource | None) -> Resource:
    now = utcnow()
    version = 1 if row is None else row.version_id + 1
    body = dict(body)
    body["id"] = rid
    meta = dict(body.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = iso(now)
    body["meta"] = meta
    cols = index_columns(resource_type, body)
    if row is None:
        row = Resource(
            resource_type=resource_type, id=rid, version_id=version, last_updated=now, body=body, **cols
        )
        ctx.session.add(row)
    else:
        row.version_id = version
        row.last_updated = now
        row.body = body
        for key, value in cols.items():
            setattr(row, key, value)
    ctx.session.add(
        ResourceVersion(resource_type=resource_type, id=rid, version_id=version, last_updated=now, body=body)
    )
    if resource_type == "Patient":
        _index_identifiers(ctx, rid, body)
    if resource_type == "Task":
        ctx.events.append(
            TaskEvent("created" if version == 1 else "updated", body, cols["patient_id"], cols["department"])
        )
    return row


def _index_identifiers(ctx: Ctx, patient_id: str, body: dict[str, Any]) -> None:
    ctx.session.execute(delete(PatientIdentifier).where(PatientIdentifier.patient_id == patient_id))
    seen: set[tuple[str, str]] = set()
    for ident in body.get("identifier") or []:
        system, value = ident.get("system"), ident.get("value")
        if not system or not value or (system, value) in seen:
            continue
        if len(system) > 200 or len(value) > 100:
            raise FhirError(400, "identifier system or value too long", "invalid")
        seen.add((system, value))
        ctx.session.add(PatientIdentifier(system=system, value=value, patient_id=patient_id))
    try:
        ctx.session.flush()
    except IntegrityError as exc:
        raise FhirError(409, "an identifier is already assigned to another patient", "duplicate") from exc


def _apply_rules(ctx: Ctx, resource_type: str, body: dict[str, Any], old: Resource | None) -> None:
    """Business rules beyond the FHIR shape: Composition sign-off, Task priority from triage."""
    if resource_type == "Composition":
        if body.get("status") in SIGNED and not ctx.principal.is_staff:
            raise forbidden("only a nurse or doctor signs off a summary")
        if old is not None and old.status in SIGNED and not ctx.principal.is_staff:
            raise forbidden("a signed summary is changed only by a nurse or doctor")
    if resource_type == "Task":
        level = triage_level_of(body)
        if level is not None:
            if level not in TRIAGE_PRIORITY:
                raise FhirError(
                    400, f"unknown triage level; one of {', '.join(TRIAGE_PRIORITY)}", "code-invalid"
                )
            body["priority"] = TRIAGE_PRIORITY[level]


def _check_write(ctx: Ctx, resource_type: str, body: dict[str, Any], rid: str) -> None:
    require_write(ctx.principal, resource_type)
    if resource_type == "Patient":
        principal = ctx.principal
        if principal.is_staff and ctx.settings.security.staff_scope == "department":
            cols = index_columns("Patient", {**body, "id": rid})
            existing = ctx.session.get(Resource, ("Patient", rid))
            if existing is not None:
                require_patient(ctx.session, ctx.settings, principal, rid)
            elif cols["department"] != principal.department:
                raise forbidden("staff create patients of their own department only", rid)
        return
    if resource_type in COMPARTMENT_TYPES:
        cols = index_columns(resource_type, {**body, "id": rid})
        require_patient(ctx.session, ctx.settings, ctx.principal, cols["patient_id"])


def create(ctx: Ctx, resource_type: str, body: Any) -> dict[str, Any]:
    """Validate, check access and rules, store version 1, audit."""
    data = validate(resource_type, body)
    rid = new_id()
    data["id"] = rid
    _check_write(ctx, resource_type, data, rid)
    _apply_rules(ctx, resource_type, data, None)
    if resource_type == "Task":
        validate("Task", data)
    row = _store(ctx, resource_type, rid, data, None)
    _audit(ctx, "create", row)
    return row.body


def read(ctx: Ctx, resource_type: str, rid: str) -> dict[str, Any]:
    row = _load(ctx, resource_type, rid)
    _check_read(ctx, row)
    _audit(ctx, "read", row)
    return row.body


def vread(ctx: Ctx, resource_type: str, rid: str, vid: str) -> dict[str, Any]:
    row = _load(ctx, resource_type, rid)
    _check_read(ctx, row)
    if not vid.isdigit() or len(vid) > 9:
        raise FhirError(404, "version not found")
    version = ctx.session.get(ResourceVersion, (resource_type, rid, int(vid)))
    if version is None:
        raise FhirError(404, f"{resource_type}/{rid}/_history/{vid} not found")
    _audit(ctx, "vread", row)
    return version.body


def history(ctx: Ctx, resource_type: str, rid: str) -> list[dict[str, Any]]:
    row = _load(ctx, resource_type, rid)
    _check_read(ctx, row)
    versions = ctx.session.scalars(
        select(ResourceVersion)
        .where(ResourceVersion.resource_type == resource_type, ResourceVersion.id == rid)
        .order_by(ResourceVersion.version_id.desc())
    ).all()
    _audit(ctx, "history-instance", row)
    return [v.body for v in versions]


def parse_if_match(header: str | None) -> int | None:
    if not header:
        return None
    match = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', header)
    if not match:
        raise FhirError(400, 'If-Match must be W/"<versionId>"', "invalid")
    return int(match.group(1))


def update(ctx: Ctx, resource_type: str, rid: str, body: Any, if_match: int | None) -> dict[str, Any]:
    """Store a new version of an existing resource (the old one stays in `_history`).

    Types outside the patient compartment (Organization, Practitioner, Schedule...) may also be created
    this way, with a caller-chosen id: departments are ``Organization/<code>``.
    """
    if (
        resource_type not in COMPARTMENT_TYPES
        and valid_id(rid)
        and ctx.session.get(Resource, (resource_type, rid)) is None
    ):
        data = validate(resource_type, body)
        if data.get("id") not in (None, rid):
            raise FhirError(400, "the id in the body must match the URL", "invalid")
        require_write(ctx.principal, resource_type)
        created = _store(ctx, resource_type, rid, data, None)
        return created.body
    row = _load(ctx, resource_type, rid)
    data = validate(resource_type, body)
    if data.get("id") not in (None, rid):
        raise FhirError(400, "the id in the body must match the URL", "invalid")
    data["id"] = rid
    _check_read(ctx, row)
    _check_write(ctx, resource_type, data, rid)
    if if_match is not None and if_match != row.version_id:
        raise FhirError(412, f"version conflict: current version is {row.version_id}", "conflict")
    _apply_rules(ctx, resource_type, data, row)
    _store(ctx, resource_type, rid, data, row)
    _audit(ctx, "update", row)
    return row.body


def sign_composition(ctx: Ctx, rid: str) -> dict[str, Any]:
    """A nurse/doctor signs off a preliminary summary: status final, attester added, review Tasks completed."""
    row = _load(ctx, "Composition", rid)
    _check_read(ctx, row)
    if not ctx.principal.is_staff:
        raise forbidden("only a nurse or doctor signs off a summary", row.patient_id)
    if row.status in SIGNED:
        raise FhirError(409, "the summary is already signed", "business-rule")
    now = iso(utcnow())
    body = dict(row.body)
    body["status"] = "final"
    party = (
        {"reference": f"Practitioner/{ctx.principal.practitioner_id}"}
        if ctx.principal.practitioner_id
        else {"display": ctx.principal.username}
    )
    body["attester"] = [*(body.get("attester") or []), {"mode": "legal", "time": now, "party": party}]
    validate("Composition", body)
    _store(ctx, "Composition", rid, body, row)
    _audit(ctx, "operation", row)
    tasks = ctx.session.scalars(
        select(Resource).where(Resource.resource_type == "Task", Resource.patient_id == row.patient_id)
    ).all()
    for task in tasks:
        focus = (task.body.get("focus") or {}).get("reference")
        if focus == f"Composition/{rid}" and task.status not in ("completed", "cancelled"):
            tbody = dict(task.body)
            tbody["status"] = "completed"
            tbody["lastModified"] = now
            _store(ctx, "Task", task.id, tbody, task)
            _audit(ctx, "update", task)
    return row.body


def task_from_triage(
    ctx: Ctx,
    *,
    patient_id: str,
    triage_level: str,
    kind: str,
    department: str | None,
    focus: str | None,
    rule: str | None,
) -> dict[str, Any]:
    """Build and create a nurse-review or doctor-escalation Task whose priority follows the triage level."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": TRIAGE_PRIORITY[triage_level],
        "code": {"coding": [{"system": TASK_KIND_SYSTEM, "code": kind}]},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": iso(utcnow()),
        "input": [
            {
                "type": {"coding": [{"system": TRIAGE_LEVEL_SYSTEM, "code": "triage-level"}]},
                "valueCode": triage_level,
            }
        ],
    }
    if department:
        task["owner"] = {"reference": f"Organization/{department}"}
    if focus:
        task["focus"] = {"reference": focus}
    if rule:
        task["reasonCode"] = {"coding": [{"system": f"{TRIAGE_LEVEL_SYSTEM}-rule", "code": rule}]}
    return create(ctx, "Task", task)


def _date_clauses(column: Any, values: list[str]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for raw in values:
        prefix, text = (raw[:2], raw[2:]) if raw[:2] in ("eq", "ge", "gt", "le", "lt") else ("eq", raw)
        try:
            start, end = parse_fhir_datetime(text)
        except (ValueError, OverflowError) as exc:
            raise FhirError(400, "date must be [eq|ge|gt|le|lt]<FHIR date or dateTime>", "invalid") from exc
        exact = start == end
        if prefix == "ge":
            clauses.append(column >= start)
        elif prefix == "gt":
            clauses.append(column > start if exact else column >= end)
        elif prefix == "le":
            clauses.append(column <= start if exact else column < end)
        elif prefix == "lt":
            clauses.append(column < start)
        else:
            clauses.append(column == start if exact else (column >= start) & (column < end))
    return clauses


def check_token(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not TOKEN_RE.match(value):
        raise FhirError(400, f"invalid value for search parameter {name}", "invalid")
    return value


def _ref_param(name: str, value: str | None) -> str | None:
    value = check_token(name, value)
    if value is None:
        return None
    rid = value.rstrip("/").split("/")[-1]
    if not valid_id(rid):
        raise FhirError(400, f"invalid reference in {name}", "invalid")
    return rid


def search(ctx: Ctx, resource_type: str, params: SearchParams) -> tuple[list[dict[str, Any]], int]:
    """One page of matches (newest first) and the total count, limited to what the caller may reach."""
    require_read(ctx.principal, resource_type)
    query: Select[Resource] = select(Resource).where(Resource.resource_type == resource_type)
    if resource_type in COMPARTMENT_TYPES:
        query = query.where(patient_filter(ctx.settings, ctx.principal, Resource.patient_id))
    patient = _ref_param("patient", params.patient)
    if patient is not None:
        query = query.where(Resource.patient_id == patient)
    for name, column in (
        ("priority", Resource.priority),
        ("department", Resource.department),
        ("code", Resource.code),
        ("agent", Resource.agent),
    ):
        value = check_token(name, getattr(params, name))
        if value is not None:
            query = query.where(column.in_(value.split(",")))
    status = check_token("status", params.status)
    if status is not None:
        query = query.where(Resource.status.in_(status.split(",")))
    if params.identifier is not None:
        if "\x00" in params.identifier or len(params.identifier) > 301:
            raise FhirError(400, "invalid identifier", "invalid")
        system, _, value = params.identifier.rpartition("|")
        ids = select(PatientIdentifier.patient_id).where(PatientIdentifier.value == value)
        if system:
            ids = ids.where(PatientIdentifier.system == system)
        query = query.where(Resource.patient_id.in_(ids))
    for clause in _date_clauses(Resource.date, params.date):
        query = query.where(clause)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(
        query.order_by(Resource.last_updated.desc(), Resource.id).limit(params.count).offset(params.offset)
    ).all()
    if resource_type in COMPARTMENT_TYPES:
        by_patient: dict[str | None, list[str]] = {}
        for row in rows:
            by_patient.setdefault(row.patient_id, []).append(f"{row.resource_type}/{row.id}")
        if not rows and patient is not None:
            by_patient[patient] = []
        for pid, refs in by_patient.items():
            audit.record(ctx.session, ctx.principal, "search-type", pid, refs)
    return [row.body for row in rows], int(total)


def _audit(ctx: Ctx, interaction: str, row: Resource) -> None:
    if row.resource_type in COMPARTMENT_TYPES:
        audit.record(
            ctx.session, ctx.principal, interaction, row.patient_id, [f"{row.resource_type}/{row.id}"]
        )


def is_future(value: datetime) -> bool:
    return value > utcnow()
