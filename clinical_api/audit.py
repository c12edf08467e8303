"""The audit log: one FHIR AuditEvent per access to patient data, allowed or denied.

An event names who (username, role), what (resource references), when, the interaction and the outcome.
It never holds names, free text or query strings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from clinical_api.auth import Principal
from clinical_api.models import Resource, ResourceVersion
from clinical_api.util import iso, new_id, utcnow, valid_id

log = logging.getLogger("clinical_api.audit")

ACTION_OF = {
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "search-type": "R",
    "create": "C",
    "update": "U",
    "delete": "D",
    "operation": "E",
}
OUTCOME_TEXT = {"0": "success", "4": "minor failure", "8": "serious failure", "12": "major failure"}


def outcome_of(status: int) -> str:
    if status < 400:
        return "0"
    if status in (401, 403):
        return "8"
    if status < 500:
        return "4"
    return "12"


def record(
    session: Session,
    principal: Principal | None,
    interaction: str,
    patient_id: str | None,
    entities: Iterable[str] = (),
    status: int = 200,
    agent_fallback: str = "anonymous",
) -> None:
    """Add one AuditEvent to `session` (committed with the caller's transaction)."""
    now = utcnow()
    outcome = outcome_of(status)
    username = principal.username if principal else agent_fallback
    agent: dict[str, Any] = {
        "who": {"identifier": {"system": "http://careline.example/fhir/users", "value": username}},
        "requestor": True,
        "type": {"text": principal.role if principal else "unauthenticated"},
    }
    if principal and principal.scope == "patient":
        agent["policy"] = [f"patient-scope:{principal.patient_id}"]
    refs = list(dict.fromkeys(entities))
    if patient_id and f"Patient/{patient_id}" not in refs:
        refs.insert(0, f"Patient/{patient_id}")
    event_id = new_id()
    body: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": event_id,
        "meta": {"versionId": "1", "lastUpdated": iso(now)},
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}],
        "action": ACTION_OF.get(interaction, "E"),
        "recorded": iso(now),
        "outcome": outcome,
        "outcomeDesc": f"HTTP {status} {OUTCOME_TEXT[outcome]}",
        "agent": [agent],
        "source": {"observer": {"display": "careline-clinical-api"}},
    }
    if refs:
        body["entity"] = [{"what": {"reference": ref}} for ref in refs[:50]]
    session.add(
        Resource(
            resource_type="AuditEvent",
            id=event_id,
            version_id=1,
            last_updated=now,
            patient_id=patient_id,
            status=outcome,
            date=now,
            agent=username[:128],
            code=interaction[:64],
            body=body,
        )
    )
    session.add(
        ResourceVersion(resource_type="AuditEvent", id=event_id, version_id=1, last_updated=now, body=body)
    )


def denied_recorder(factory: sessionmaker[Session]) -> Any:
    """The app's hook for 401/403: writes the AuditEvent in its own transaction."""

    def _record(request: Request, status: int) -> None:
        path = request.url.path
        if not (
            path.startswith("/fhir")
            or path.startswith("/events")
            or path.startswith("/auth/patient-token")
            or path.startswith("/dicomweb")
            or path.startswith("/outreach")
        ):
            return
        principal: Principal | None = getattr(request.state, "principal", None)
        patient_id: str | None = getattr(request.state, "audit_patient", None)
        if patient_id is None:
            candidate = request.query_params.get("patient") or request.query_params.get("subject")
            if path.startswith("/fhir/Patient/"):
                candidate = path.split("/")[3]
            if candidate:
                candidate = candidate.split("/")[-1]
                patient_id = candidate if valid_id(candidate) else None
        entity = _entity_of_path(path)
        with factory() as session:
            record(
                session,
                principal,
                "operation" if request.method == "POST" else "read",
                patient_id,
                [entity] if entity else [],
                status,
                agent_fallback="anonymous" if not request.headers.get("authorization") else "invalid-token",
            )
            session.commit()

    return _record


def _entity_of_path(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "fhir" and valid_id(parts[2]) and parts[1].isalpha():
        return f"{parts[1]}/{parts[2]}"
    return None
