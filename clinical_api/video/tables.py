"""Database tables of the video feature (same metadata as clinical_api.models, so one Alembic history).

A room belongs to exactly one Appointment or one escalation Task (UNIQUE, so creating it twice from two
requests yields one room). Every issued join token is stored by its ``jti``: a token whose row is missing
or revoked is refused even though its signature is valid. Participations record each connection, so the
ending Encounter can name who took part and for how long.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clinical_api.models import Base


class VideoRoom(Base):
    """One consult room: open until ended, then closed for good."""

    __tablename__ = "video_rooms"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    appointment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    task_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    first_join: Mapped[datetime | None] = mapped_column(DateTime())
    ended: Mapped[datetime | None] = mapped_column(DateTime())
    encounter_id: Mapped[str | None] = mapped_column(String(64))


class VideoToken(Base):
    """A join token as issued: who it admits, its window, and whether it was revoked."""

    __tablename__ = "video_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("video_rooms.id"), nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(128), nullable=False)
    issued: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    not_before: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    expires: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    revoked: Mapped[datetime | None] = mapped_column(DateTime())


class VideoParticipation(Base):
    """One signalling connection of one participant: joined at, left at (NULL while connected)."""

    __tablename__ = "video_participations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("video_rooms.id"), nullable=False)
    jti: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    practitioner_id: Mapped[str | None] = mapped_column(String(64))
    joined: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    left: Mapped[datetime | None] = mapped_column(DateTime())

    __table_args__ = (Index("ix_video_participations_room_joined", "room_id", "joined"),)
