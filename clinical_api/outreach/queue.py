"""Claiming due jobs so that several workers never run the same job at once.

PostgreSQL: one UPDATE over a ``SELECT ... FOR UPDATE SKIP LOCKED`` sub-select, so concurrent workers
take disjoint rows without waiting. SQLite: the same UPDATE; every transaction there starts with
``BEGIN IMMEDIATE`` (see clinical_api.db), so claims are serialised. A claim sets a lease and bumps
``fence``; a worker only records a result while the fence is still the one it claimed with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from clinical_api.outreach.planner import OPEN_STATUSES
from clinical_api.outreach.tables import OutreachJob


@dataclass(frozen=True)
class Claim:
    job_id: str
    fence: int


def claim(session: Session, worker: str, now: datetime, limit: int, lease_s: int) -> list[Claim]:
    """Lease up to `limit` due jobs to `worker` (caller commits). Expired leases count as due."""
    job = OutreachJob
    due = (
        select(job.id)
        .where(
            job.status.in_(OPEN_STATUSES),
            job.next_at <= now,
            or_(job.lease_until.is_(None), job.lease_until < now),
        )
        .order_by(job.next_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(job)
        .where(job.id.in_(due.scalar_subquery()))
        .values(
            lease_owner=worker[:128],
            lease_until=now + timedelta(seconds=lease_s),
            fence=job.fence + 1,
            claims=job.claims + 1,
            lease_expiries=job.lease_expiries + case((job.lease_until.is_not(None), 1), else_=0),
        )
        .returning(job.id, job.fence)
    )
    return [Claim(row[0], row[1]) for row in session.execute(stmt).all()]


def heartbeat(session: Session, item: Claim, now: datetime, lease_s: int) -> bool:
    """Extend the lease of a job still held; False when another worker has taken it over."""
    result = session.execute(
        update(OutreachJob)
        .where(OutreachJob.id == item.job_id, OutreachJob.fence == item.fence)
        .values(lease_until=now + timedelta(seconds=lease_s))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def hold(session: Session, item: Claim) -> OutreachJob | None:
    """The job, row-locked, if this claim still owns it (the fence check before writing a result)."""
    return session.scalar(
        select(OutreachJob)
        .where(OutreachJob.id == item.job_id, OutreachJob.fence == item.fence)
        .with_for_update()
    )


def hold_many(session: Session, items: list[Claim]) -> dict[str, OutreachJob]:
    """`hold` for a batch in one statement: the jobs (row-locked) whose fence is still the claim's."""
    if not items:
        return {}
    fences = {c.job_id: c.fence for c in items}
    rows = session.scalars(
        select(OutreachJob).where(OutreachJob.id.in_(list(fences))).order_by(OutreachJob.id).with_for_update()
    ).all()
    return {job.id: job for job in rows if job.fence == fences[job.id]}
