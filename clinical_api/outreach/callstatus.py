"""The provider's word on a call we placed (Twilio-style StatusCallback: CallSid, CallStatus).

A call that was busy, not answered, failed or cancelled did not reach the patient: its attempt becomes
``failed`` (with a Communication saying so) and the awaiting check-in is due again at once, so the next
tick re-sends it or, after the last attempt, raises the nurse Task, instead of waiting ``answer_wait_s``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.errors import FhirError
from clinical_api.outreach import records
from clinical_api.outreach.tables import OutreachAttempt, OutreachJob

NOT_REACHED = frozenset({"busy", "no-answer", "failed", "canceled"})
PROGRESS = frozenset({"queued", "initiated", "ringing", "in-progress", "completed"})


def record_call_status(
    session: Session, settings: Settings, attempt_id: str, call_sid: str, status: str, now: datetime
) -> str:
    """Apply one status report (caller commits); repeats of a report change nothing."""
    attempt = session.get(OutreachAttempt, attempt_id)
    if attempt is None or attempt.channel != "phone" or attempt.provider_ref != call_sid:
        raise FhirError(404, "unknown call")
    if status in PROGRESS:
        if attempt.outcome == "sent":
            attempt.reason = f"call {status}"
        return "noted"
    if status not in NOT_REACHED:
        raise FhirError(400, f"unknown CallStatus; one of {', '.join(sorted(PROGRESS | NOT_REACHED))}")
    if attempt.outcome == "failed":
        return "duplicate"
    job = session.scalar(select(OutreachJob).where(OutreachJob.id == attempt.job_id).with_for_update())
    assert job is not None
    attempt.outcome = "failed"
    attempt.reason = f"call {status}"
    ctx = records.worker_ctx(session, settings, job.patient_id)
    records.communication(
        ctx, job, outcome="failed", channel="phone", reason=f"call {status}", attempt_id=attempt_id, when=now
    )
    if job.status == "awaiting" and (job.lease_until is None or job.lease_until < now):
        job.next_at = min(job.next_at, now)
    return "failed"
