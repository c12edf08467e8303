"""SQLAlchemy tables. One generic FHIR resource table plus dedicated tables where integrity needs constraints.

Datetimes are stored as naive UTC everywhere so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Resource(Base):
    """Current version of every FHIR resource not kept in a dedicated table, with its search columns."""

    __tablename__ = "resources"

    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    last_updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(40))
    date: Mapped[datetime | None] = mapped_column(DateTime())
    priority: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(128))
    code: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    __table_args__ = (
        Index("ix_resources_type_patient", "resource_type", "patient_id"),
        Index("ix_resources_type_status", "resource_type", "status"),
        Index("ix_resources_type_date", "resource_type", "date"),
        Index("ix_resources_patient_department", "patient_id", "department"),
        Index("ix_resources_type_agent", "resource_type", "agent"),
    )


class ResourceVersion(Base):
    """Every version ever written (`_history`); the newest equals the row in `resources`."""

    __tablename__ = "resource_versions"

    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Slot(Base):
    """A bookable period of a Schedule (FHIR Slot)."""

    __tablename__ = "slots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(String(64), nullable=False)
    department: Mapped[str | None] = mapped_column(String(64))
    service_type: Mapped[str] = mapped_column(String(40), nullable=False, default="video-consult")
    start: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="free")
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    last_updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)

    __table_args__ = (Index("ix_slots_status_start", "status", "start"),)


class Appointment(Base):
    """A booking of one slot by one patient.

    `active_slot_id` equals `slot_id` while the appointment holds its slot and is NULL once cancelled;
    its unique constraint is what makes a double booking impossible, whatever the timing of requests.
    """

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot_id: Mapped[str] = mapped_column(ForeignKey("slots.id"), nullable=False)
    active_slot_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    join_url: Mapped[str] = mapped_column(String(300), nullable=False)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    last_updated: Mapped[datetime] = mapped_column(DateTime(), nullable=False)


class IdempotencyKey(Base):
    """The first response given for (principal, Idempotency-Key), replayed for a repeat of the same request."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)


class User(Base):
    """A person or service that signs in. Passwords are argon2 hashes."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    department: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    practitioner_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("username"),)


class BinaryBlob(Base):
    """Uploaded bytes (photos) referenced as `Binary/{id}` from DocumentReference/Media."""

    __tablename__ = "binaries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)


class PatientIdentifier(Base):
    """Hospital identifiers (system + value) of each Patient; one identifier names one patient only."""

    __tablename__ = "patient_identifiers"

    system: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


# Feature tables share this metadata; importing them here keeps Alembic and the tests seeing one schema.
from clinical_api.imaging import tables as _imaging_tables  # noqa: E402,F401
from clinical_api.outreach import tables as _outreach_tables  # noqa: E402,F401
from clinical_api.video import tables as _video_tables  # noqa: E402,F401
