"""FHIR R4B validation and the search columns each resource type is indexed by."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from clinical_api.errors import FhirError
from clinical_api.util import ID_RE, parse_fhir_datetime

#: Types kept in the generic resource table.
GENERIC_TYPES: tuple[str, ...] = (
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Encounter",
    "QuestionnaireResponse",
    "Composition",
    "Task",
    "Schedule",
    "CarePlan",
    "Observation",
    "DocumentReference",
    "Media",
    "AuditEvent",
    "Communication",
    "ImagingStudy",
)

#: Types that belong to one patient's compartment (reachable only by who may reach that patient).
COMPARTMENT_TYPES = frozenset(
    {
        "Patient",
        "Encounter",
        "QuestionnaireResponse",
        "Composition",
        "Task",
        "CarePlan",
        "Observation",
        "DocumentReference",
        "Media",
        "Appointment",
        "Binary",
        "Communication",
        "ImagingStudy",
    }
)

CARELINE = "http://careline.example/fhir"
TRIAGE_LEVEL_SYSTEM = f"{CARELINE}/CodeSystem/triage-level"
TASK_KIND_SYSTEM = f"{CARELINE}/CodeSystem/task-kind"
JOIN_URL_EXT = f"{CARELINE}/StructureDefinition/join-url"

#: Triage level -> Task.priority.
TRIAGE_PRIORITY: dict[str, str] = {
    "emergency_ambulance": "stat",
    "emergency": "stat",
    "consultation_24": "urgent",
    "consultation": "routine",
    "self_care": "routine",
}

_MAX_LEN = {"status": 40, "priority": 20, "department": 64, "agent": 128, "code": 64}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def validate(resource_type: str, body: Any) -> dict[str, Any]:
    """The body, checked against the R4B model of `resource_type`; FhirError 400 when it is not valid."""
    if not isinstance(body, dict):
        raise FhirError(400, "body must be a JSON object", "structure")
    if body.get("resourceType") != resource_type:
        raise FhirError(400, f"resourceType must be {resource_type}", "invalid")
    if _has_nul(body):
        raise FhirError(400, "NUL characters are not allowed", "invalid")
    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(body)
    except ValidationError as exc:
        raise FhirError(400, validation_message(exc), "invalid") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise FhirError(400, f"invalid {resource_type}", "invalid") from exc
    # a copy, so later changes (id, meta) never touch the caller's object
    copied: dict[str, Any] = json.loads(json.dumps(body))
    return copied


def validation_message(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing input values (they may be patient data)."""
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "invalid resource: " + "; ".join(parts)


def ref_id(ref: Any, expected_type: str | None = None) -> str | None:
    """The id in a Reference (``{"reference": "Patient/123"}``) when it points at `expected_type`."""
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str) or "/" not in text:
        return None
    parts = text.rstrip("/").split("/")
    if len(parts) < 2:
        return None
    rtype, rid = parts[-2], parts[-1]
    if expected_type and rtype != expected_type:
        return None
    if not ID_RE.match(rid):
        raise FhirError(400, f"invalid reference id for {rtype}", "invalid")
    return rid


def _first_code(concept: Any) -> str | None:
    if isinstance(concept, list):
        concept = concept[0] if concept else None
    if not isinstance(concept, dict):
        return None
    codings = concept.get("coding") or []
    if codings and isinstance(codings[0], dict):
        code = codings[0].get("code")
        return str(code) if code is not None else None
    return None


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_fhir_datetime(value)[0]
    except (ValueError, OverflowError):
        return None


def patient_of(resource_type: str, body: dict[str, Any]) -> str | None:
    """The patient whose compartment holds this resource."""
    if resource_type == "Patient":
        rid = body.get("id")
        return str(rid) if rid else None
    if resource_type == "Task":
        return ref_id(body.get("for"), "Patient")
    if resource_type in COMPARTMENT_TYPES:
        return ref_id(body.get("subject"), "Patient")
    return None


def index_columns(resource_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """The search columns of the generic table for one resource."""
    cols: dict[str, Any] = {
        "patient_id": patient_of(resource_type, body),
        "status": body.get("status") if isinstance(body.get("status"), str) else None,
        "date": None,
        "priority": None,
        "department": None,
        "agent": None,
        "code": None,
    }
    if resource_type == "Patient":
        cols["department"] = ref_id(body.get("managingOrganization"), "Organization")
        cols["date"] = _date(body.get("birthDate"))
        active = body.get("active")
        cols["status"] = None if active is None else ("active" if active else "inactive")
    elif resource_type == "Encounter":
        cols["department"] = ref_id(body.get("serviceProvider"), "Organization")
        cols["date"] = _date((body.get("period") or {}).get("start"))
    elif resource_type == "QuestionnaireResponse":
        cols["date"] = _date(body.get("authored"))
    elif resource_type == "Composition":
        cols["department"] = ref_id(body.get("custodian"), "Organization")
        cols["date"] = _date(body.get("date"))
        cols["code"] = _first_code(body.get("type"))
    elif resource_type == "Task":
        cols["department"] = ref_id(body.get("owner"), "Organization")
        cols["date"] = _date(body.get("authoredOn"))
        cols["priority"] = body.get("priority")
        cols["code"] = _first_code(body.get("code"))
    elif resource_type == "CarePlan":
        authors = [body.get("author")] if body.get("author") else []
        for author in authors:
            cols["department"] = ref_id(author, "Organization")
        cols["date"] = _date((body.get("period") or {}).get("start")) or _date(body.get("created"))
    elif resource_type == "Observation":
        cols["date"] = (
            _date(body.get("effectiveDateTime"))
            or _date((body.get("effectivePeriod") or {}).get("start"))
            or _date(body.get("issued"))
        )
        cols["code"] = _first_code(body.get("code"))
    elif resource_type == "DocumentReference":
        cols["date"] = _date(body.get("date"))
    elif resource_type == "Media":
        cols["date"] = _date(body.get("createdDateTime"))
    elif resource_type == "ImagingStudy":
        cols["date"] = _date(body.get("started"))
    elif resource_type == "Communication":
        cols["date"] = _date(body.get("sent"))
        cols["code"] = _first_code(body.get("category"))
    elif resource_type == "PractitionerRole":
        cols["department"] = ref_id(body.get("organization"), "Organization")
        cols["agent"] = ref_id(body.get("practitioner"), "Practitioner")
        cols["status"] = (
            None if body.get("active") is None else ("active" if body.get("active") else "inactive")
        )
    elif resource_type == "Schedule":
        cols["department"] = _first_code(body.get("specialty"))
        cols["status"] = (
            None if body.get("active") is None else ("active" if body.get("active") else "inactive")
        )
    for key, limit in _MAX_LEN.items():
        value = cols.get(key)
        if value is not None:
            cols[key] = str(value)[:limit]
    return cols


def triage_level_of(task: dict[str, Any]) -> str | None:
    """The triage level a Task carries in ``input`` (type coded ``triage-level``), if any."""
    for item in task.get("input") or []:
        if not isinstance(item, dict):
            continue
        itype = item.get("type") or {}
        codes = [c.get("code") for c in itype.get("coding") or [] if isinstance(c, dict)]
        if "triage-level" in codes or itype.get("text") == "triage-level":
            value = item.get("valueCode") or item.get("valueString")
            if isinstance(value, str):
                return value
            concept = item.get("valueCodeableConcept")
            return _first_code(concept)
    return None
