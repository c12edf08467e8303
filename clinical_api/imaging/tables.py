"""Database tables of the imaging feature (same metadata as clinical_api.models, so one Alembic history).

The study/series/instance rows are the QIDO index: the columns are what searches filter on (each with an
index), and ``attrs`` keeps the DICOM JSON a search returns, so a search never opens a file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clinical_api.models import Base

UID = 64


class DicomStudy(Base):
    """One study: the patient it belongs to (FHIR id), its searchable attributes and its ImagingStudy."""

    __tablename__ = "dicom_studies"

    study_uid: Mapped[str] = mapped_column(String(UID), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False)
    imaging_study_id: Mapped[str | None] = mapped_column(String(64))
    dicom_patient_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    issuer: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    patient_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    study_date: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    accession: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    modalities: Mapped[str] = mapped_column(String(200), nullable=False, default="|")
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    num_series: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    num_instances: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)

    __table_args__ = (
        Index("ix_dicom_studies_patient_date", "patient_id", "study_date"),
        Index("ix_dicom_studies_date", "study_date"),
        Index("ix_dicom_studies_dicom_pid", "dicom_patient_id"),
        Index("ix_dicom_studies_accession", "accession"),
        Index("ix_dicom_studies_name", "patient_name"),
    )


class DicomSeries(Base):
    """One series of a study."""

    __tablename__ = "dicom_series"

    series_uid: Mapped[str] = mapped_column(String(UID), primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(UID), nullable=False, index=True)
    modality: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    series_number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    num_instances: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class DicomInstance(Base):
    """One stored SOP instance: where its bytes are (content address) and its metadata as DICOM JSON."""

    __tablename__ = "dicom_instances"

    sop_uid: Mapped[str] = mapped_column(String(UID), primary_key=True)
    series_uid: Mapped[str] = mapped_column(String(UID), nullable=False, index=True)
    study_uid: Mapped[str] = mapped_column(String(UID), nullable=False, index=True)
    sop_class_uid: Mapped[str] = mapped_column(String(UID), nullable=False)
    instance_number: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax: Mapped[str] = mapped_column(String(UID), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)


class DicomShare(Base):
    """A view-only share link: the studies it opens, until when, whether revoked. Only a hash of the token."""

    __tablename__ = "dicom_shares"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    study_uids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    expires: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
