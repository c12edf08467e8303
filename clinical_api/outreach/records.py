"""What outreach writes on the patient's record: a FHIR Communication per attempt and outcome, and
nurse Tasks when outreach could not close the loop. Written through `clinical_api.service` with a
patient-scoped service principal, so access rules and the audit log apply as to any other writer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api import service
from clinical_api.auth import Principal
from clinical_api.context import Ctx
from clinical_api.fhir import CARELINE
from clinical_api.outreach.tables import OutreachJob
from clinical_api.util import iso

OUTREACH_SYSTEM = f"{CARELINE}/CodeSystem/outreach"
ATTEMPT_SYSTEM = f"{CARELINE}/outreach-attempt"
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {"app": "ELECTRONIC", "phone": "PHONE", "email": "EMAILWRIT"}
WORKER_USER = "outreach-worker"


def worker_ctx(session: Session, settings: Settings, patient_id: str) -> Ctx:
    principal = Principal(
        username=WORKER_USER, user_id="outreach", role="service", scope="patient", patient_id=patient_id
    )
    return Ctx(session=session, settings=settings, principal=principal)


def source_reference(job: OutreachJob) -> str:
    return job.source.split("#", 1)[0]


def communication(
    ctx: Ctx,
    job: OutreachJob,
    *,
    outcome: str,
    channel: str | None,
    reason: str | None,
    attempt_id: str | None,
    when: Any,
    text: str | None = None,
    about: list[str] | None = None,
) -> dict[str, Any]:
    """Record one attempt or outcome. `outcome` (sent, failed, skipped, answered, missed...) is the code."""
    status = {"sent": "completed", "answered": "completed", "deferred": "on-hold"}.get(outcome, "not-done")
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "status": status,
        "category": [
            {"coding": [{"system": OUTREACH_SYSTEM, "code": job.kind}]},
            {"coding": [{"system": f"{OUTREACH_SYSTEM}-outcome", "code": outcome}]},
        ],
        "subject": {"reference": f"Patient/{job.patient_id}"},
        "basedOn": [{"reference": source_reference(job)}],
        "sent": iso(when),
        "note": [{"text": f"outreach job {job.id}"}],
    }
    if reason:
        body["statusReason"] = {"text": reason[:300]}
    if channel:
        body["medium"] = [{"coding": [{"system": MODE_SYSTEM, "code": MEDIUM[channel]}], "text": channel}]
    if attempt_id:
        body["identifier"] = [{"system": ATTEMPT_SYSTEM, "value": attempt_id}]
    if text:
        body["payload"] = [{"contentString": text}]
    if about:
        body["about"] = [{"reference": ref} for ref in about]
    return service.create(ctx, "Communication", body)


def nurse_task(ctx: Ctx, job: OutreachJob, kind: str, department: str | None) -> dict[str, Any]:
    """A routine nurse Task (code `kind`: outreach-unreachable, outreach-unanswered, outreach-missed...).

    The reason is on the Communication that records the escalation and references this Task.
    """
    return service.task_from_triage(
        ctx,
        patient_id=job.patient_id,
        triage_level="consultation",
        kind=kind,
        department=department,
        focus=source_reference(job),
        rule=None,
    )
