"""Turns CarePlans and Appointments into outreach jobs.

One job per (source, kind, due time), inserted with ON CONFLICT DO NOTHING against the table's UNIQUE key,
so planning can run any number of times, from any number of processes, and never duplicates a job.
Reminders of an appointment that moved or was cancelled are cancelled here, before they fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from careline.settings import OutreachSettings
from clinical_api.fhir import CARELINE
from clinical_api.models import Appointment, Resource, Slot
from clinical_api.outreach.tables import OutreachJob
from clinical_api.util import new_id, parse_fhir_datetime

CHECKIN_SYSTEM = f"{CARELINE}/CodeSystem/check-in"
OPEN_STATUSES = ("pending", "awaiting")


@dataclass(frozen=True)
class JobSpec:
    kind: str
    source: str
    patient_id: str
    due_at: datetime
    window_end: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def when_of(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_fhir_datetime(value)[0]
    except (ValueError, OverflowError):
        return None


def is_checkin(activity: dict[str, Any]) -> bool:
    detail = activity.get("detail") or {}
    codes = [c for c in (detail.get("code") or {}).get("coding") or [] if isinstance(c, dict)]
    return any(c.get("code") == "check-in" for c in codes) and detail.get("status") in (
        "scheduled",
        "not-started",
    )


def checkin_specs(care_plan: Resource, settings: OutreachSettings) -> list[JobSpec]:
    """One spec per scheduled check-in activity of an active CarePlan."""
    if care_plan.status != "active" or not care_plan.patient_id:
        return []
    specs = []
    for n, activity in enumerate(care_plan.body.get("activity") or []):
        if not isinstance(activity, dict) or not is_checkin(activity):
            continue
        period = (activity.get("detail") or {}).get("scheduledPeriod") or {}
        due = when_of(period.get("start"))
        if due is None:
            continue
        end = when_of(period.get("end")) or due + timedelta(seconds=settings.checkin_window_s)
        specs.append(
            JobSpec(
                "checkin",
                f"CarePlan/{care_plan.id}#{n}",
                care_plan.patient_id,
                due,
                max(end, due + timedelta(seconds=1)),
                {"careplan": care_plan.id, "activity": n},
            )
        )
    return specs


def reminder_specs(appt: Appointment, slot: Slot, settings: OutreachSettings) -> list[JobSpec]:
    """A reminder per configured offset; none whose due time precedes the booking itself."""
    if appt.status != "booked":
        return []
    specs = []
    for offset in settings.reminder_offsets_s:
        due = slot.start - timedelta(seconds=offset)
        if due < appt.created:
            continue
        specs.append(
            JobSpec(
                "reminder",
                f"Appointment/{appt.id}",
                appt.patient_id,
                due,
                slot.start,
                {"appointment": appt.id, "start": slot.start.isoformat(), "offset_s": offset},
            )
        )
    return specs


def insert_jobs(session: Session, specs: list[JobSpec], now: datetime) -> int:
    """Insert the specs that are not there yet; the count actually inserted."""
    if not specs:
        return 0
    rows = [
        {
            "id": new_id(),
            "kind": s.kind,
            "source": s.source,
            "patient_id": s.patient_id,
            "due_at": s.due_at,
            "window_end": s.window_end,
            "status": "pending",
            "next_at": s.due_at,
            "sends": 0,
            "tries": 0,
            "claims": 0,
            "lease_expiries": 0,
            "fence": 0,
            "payload": s.payload,
            "created": now,
            "updated": now,
        }
        for s in specs
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    total = 0
    for start in range(0, len(rows), 500):
        stmt = insert(OutreachJob).values(rows[start : start + 500]).on_conflict_do_nothing()
        total += len(session.execute(stmt.returning(OutreachJob.id)).all())
    return total


def plan(session: Session, settings: OutreachSettings, now: datetime, since: datetime | None = None) -> int:
    """Create the jobs of active CarePlans and future booked Appointments; cancel stale reminders.

    `since` (record time, naive UTC) limits planning to the records changed since then; None plans all.
    """
    specs: list[JobSpec] = []
    plans = select(Resource).where(Resource.resource_type == "CarePlan", Resource.status == "active")
    appts = select(Appointment, Slot).join(Slot, Slot.id == Appointment.slot_id).where(Slot.start > now)
    if since is not None:
        plans = plans.where(Resource.last_updated >= since)
        appts = appts.where(Appointment.last_updated >= since)
    for plan_row in session.scalars(plans):
        specs.extend(checkin_specs(plan_row, settings))
    wanted: dict[str, set[datetime]] = {}
    for appt, slot in session.execute(appts):
        mine = reminder_specs(appt, slot, settings)
        specs.extend(mine)
        wanted[f"Appointment/{appt.id}"] = {s.due_at for s in mine}
    created = insert_jobs(session, specs, now)
    for job in session.scalars(
        select(OutreachJob).where(
            OutreachJob.kind == "reminder",
            OutreachJob.status.in_(OPEN_STATUSES),
            OutreachJob.source.in_(list(wanted)),
        )
    ):
        if job.due_at not in wanted[job.source]:
            cancel_job(session, job, "appointment moved or cancelled", now)
    return created


def cancel_job(session: Session, job: OutreachJob, reason: str, now: datetime) -> None:
    session.execute(
        update(OutreachJob)
        .where(OutreachJob.id == job.id, OutreachJob.status.in_(OPEN_STATUSES))
        .values(status="cancelled", reason=reason, lease_until=None, updated=now)
    )
