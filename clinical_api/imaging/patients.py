"""Which FHIR Patient a DICOM file belongs to: PatientID + IssuerOfPatientID -> Patient.identifier.

The issuer names the identifier system: ``settings.imaging.issuer_systems[issuer]`` when configured,
else ``urn:oid:<issuer>`` for an OID and ``urn:careline:issuer:<issuer>`` otherwise. A pair seen for the
first time creates a Patient carrying that identifier, so the same local ID at two hospitals gives two
patients, while a Patient already holding identifiers of two hospitals gets the studies of both.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import select

from careline.settings import Settings
from clinical_api import service
from clinical_api.context import Ctx
from clinical_api.imaging.dicom import text
from clinical_api.models import PatientIdentifier

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
NO_ISSUER = "urn:careline:issuer:unknown"


def identifier_system(settings: Settings, issuer: str) -> str:
    issuer = issuer or settings.imaging.default_issuer
    if not issuer:
        return NO_ISSUER
    if issuer in settings.imaging.issuer_systems:
        return settings.imaging.issuer_systems[issuer]
    if _OID.match(issuer):
        return f"urn:oid:{issuer}"
    return f"urn:careline:issuer:{issuer}"


def find_patient(ctx: Ctx, system: str, value: str) -> str | None:
    return ctx.session.scalar(
        select(PatientIdentifier.patient_id).where(
            PatientIdentifier.system == system, PatientIdentifier.value == value
        )
    )


def _patient_resource(ctx: Ctx, ds: Dataset, system: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}]}
    name = ds.get("PatientName")
    if name is not None and str(name):
        family = (name.family_name or "").strip()
        given = [g for g in (name.given_name or "").split(" ") if g]
        entry: dict[str, Any] = {"text": str(name).replace("^", " ").strip()}
        if family:
            entry["family"] = family
        if given:
            entry["given"] = given
        body["name"] = [entry]
    birth = text(ds, "PatientBirthDate")
    if re.fullmatch(r"\d{8}", birth):
        body["birthDate"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    sex = {"M": "male", "F": "female", "O": "other"}.get(text(ds, "PatientSex").upper())
    if sex:
        body["gender"] = sex
    if ctx.principal.is_staff and ctx.principal.department:
        body["managingOrganization"] = {"reference": f"Organization/{ctx.principal.department}"}
    return body


def match_patient(ctx: Ctx, ds: Dataset) -> tuple[str, str, str]:
    """(FHIR Patient id, DICOM PatientID, issuer) of an instance; creates the Patient when new.

    Raises FhirError when the caller may not create or reach that patient.
    """
    value = text(ds, "PatientID") or "UNKNOWN"
    issuer = text(ds, "IssuerOfPatientID")
    system = identifier_system(ctx.settings, issuer)
    found = find_patient(ctx, system, value)
    if found is not None:
        return found, value, issuer
    created = service.create(ctx, "Patient", _patient_resource(ctx, ds, system, value))
    return str(created["id"]), value, issuer
