"""Who may reach what.

* A patient, and a service token scoped to one patient, reach only that patient's compartment.
* Nurses and doctors reach, per ``settings.security.staff_scope``:
  ``all``: every patient; ``department``: the patients with any record filed under their department
  (Patient.managingOrganization, Encounter.serviceProvider, Task.owner, Composition.custodian,
  CarePlan.author as ``Organization/<department>``).
* Admins reach everything; a service token not scoped to a patient reaches no patient data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.orm import Session, aliased

from careline.settings import Settings
from clinical_api.auth import Principal
from clinical_api.errors import FhirError
from clinical_api.fhir import COMPARTMENT_TYPES
from clinical_api.models import Resource

CLINICAL_WRITERS = frozenset({"service", "nurse", "doctor"})

#: Roles that may create or update each resource type (still subject to patient reach).
WRITERS: dict[str, frozenset[str]] = {
    "Patient": frozenset({"admin", "nurse", "doctor"}),
    "Practitioner": frozenset({"admin"}),
    "PractitionerRole": frozenset({"admin"}),
    "Organization": frozenset({"admin"}),
    "Schedule": frozenset({"admin"}),
    "Slot": frozenset({"admin"}),
    "Encounter": CLINICAL_WRITERS | {"admin"},
    "QuestionnaireResponse": CLINICAL_WRITERS | {"patient"},
    "Composition": CLINICAL_WRITERS,
    "Task": CLINICAL_WRITERS,
    "CarePlan": frozenset({"nurse", "doctor"}),
    "Observation": CLINICAL_WRITERS | {"patient"},
    "DocumentReference": CLINICAL_WRITERS | {"patient"},
    "Media": CLINICAL_WRITERS | {"patient"},
    "Binary": CLINICAL_WRITERS | {"patient"},
    "Appointment": CLINICAL_WRITERS | {"patient", "admin"},
    "AuditEvent": frozenset(),
    "ImagingStudy": frozenset({"admin", "nurse", "doctor"}),
    "Communication": CLINICAL_WRITERS,
}


def forbidden(message: str = "not allowed for this role", patient_id: str | None = None) -> FhirError:
    return FhirError(403, message, "forbidden", patient_id=patient_id)


def require_write(principal: Principal, resource_type: str) -> None:
    if principal.role not in WRITERS.get(resource_type, frozenset()):
        raise forbidden(f"role {principal.role} may not write {resource_type}")


def require_read(principal: Principal, resource_type: str) -> None:
    if resource_type == "AuditEvent" and principal.role != "admin":
        raise forbidden("only admins read the audit log")
    if resource_type in COMPARTMENT_TYPES and principal.role == "service" and principal.scope != "patient":
        raise forbidden("a service reaches patient data only with a patient-scoped token")


def can_reach_patient(session: Session, settings: Settings, principal: Principal, patient_id: str) -> bool:
    bound = principal.bound_patient
    if principal.role == "patient" or principal.scope == "patient":
        return bound is not None and bound == patient_id
    if principal.role == "admin":
        return True
    if principal.is_staff:
        if settings.security.staff_scope == "all":
            return True
        if not principal.department:
            return False
        found = session.scalar(
            select(
                exists().where(Resource.patient_id == patient_id, Resource.department == principal.department)
            )
        )
        return bool(found)
    return False


def require_patient(
    session: Session, settings: Settings, principal: Principal, patient_id: str | None
) -> None:
    if patient_id is None:
        raise FhirError(400, "the resource must reference its Patient", "required")
    if not can_reach_patient(session, settings, principal, patient_id):
        raise forbidden("outside the caller's patient scope", patient_id)


def patient_filter(settings: Settings, principal: Principal, column: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting `column` (a patient id column) to the patients the caller reaches."""
    if principal.role == "patient" or principal.scope == "patient":
        bound = principal.bound_patient
        return column == bound if bound else false()
    if principal.role == "admin":
        return true()
    if principal.is_staff:
        if settings.security.staff_scope == "all":
            return true()
        if not principal.department:
            return false()
        other = aliased(Resource)
        reachable = select(other.patient_id).where(
            other.department == principal.department, other.patient_id.is_not(None)
        )
        return column.in_(reachable)
    return false()
