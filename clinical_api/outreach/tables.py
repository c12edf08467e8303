"""Database tables of the outreach feature (same metadata as clinical_api.models, so one Alembic history).

`outreach_jobs` is the durable queue: one row per (source, kind, due time), made unique so re-planning
never duplicates. Workers claim rows by lease (``lease_owner``/``lease_until``); ``fence`` changes on
every claim, so a worker whose lease expired can no longer finish the job it lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clinical_api.models import Base


class OutreachJob(Base):
    """One due check-in or appointment reminder and where it stands."""

    __tablename__ = "outreach_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # checkin | reminder
    source: Mapped[str] = mapped_column(String(140), nullable=False)  # CarePlan/<id>#<n> | Appointment/<id>
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    window_end: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    # pending | running | awaiting | sent | answered | unanswered | missed | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    next_at: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    sends: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claims: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_expiries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    fence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime())
    first_sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    fired_at: Mapped[datetime | None] = mapped_column(DateTime())
    reason: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("source", "kind", "due_at", name="uq_outreach_jobs_source_kind_due"),
        Index("ix_outreach_jobs_status_next", "status", "next_at"),
    )


class OutreachAttempt(Base):
    """One try on one channel. ``id`` is the idempotency key handed to the channel."""

    __tablename__ = "outreach_attempts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)  # sent | failed | skipped
    reason: Mapped[str | None] = mapped_column(String(300))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    worker: Mapped[str | None] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)


class OutreachNotification(Base):
    """An in-app notification; UNIQUE(attempt_id) makes a repeated send of one attempt a no-op."""

    __tablename__ = "outreach_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the stream's cursor
    attempt_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    job_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime())

    __table_args__ = (Index("ix_outreach_notifications_patient_id", "patient_id", "id"),)


class OutreachPreference(Base):
    """How one patient wants to be reached: channel order, contacts, language, quiet hours."""

    __tablename__ = "outreach_preferences"

    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
