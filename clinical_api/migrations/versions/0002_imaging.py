"""Imaging: DICOM studies, series, instances and share links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dicom_studies",
        sa.Column("study_uid", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("imaging_study_id", sa.String(64), nullable=True),
        sa.Column("dicom_patient_id", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("study_date", sa.String(8), nullable=False),
        sa.Column("accession", sa.String(64), nullable=False),
        sa.Column("modalities", sa.String(200), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("num_series", sa.Integer(), nullable=False),
        sa.Column("num_instances", sa.Integer(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("study_uid", name="pk_dicom_studies"),
    )
    op.create_index("ix_dicom_studies_patient_date", "dicom_studies", ["patient_id", "study_date"])
    op.create_index("ix_dicom_studies_date", "dicom_studies", ["study_date"])
    op.create_index("ix_dicom_studies_dicom_pid", "dicom_studies", ["dicom_patient_id"])
    op.create_index("ix_dicom_studies_accession", "dicom_studies", ["accession"])
    op.create_index("ix_dicom_studies_name", "dicom_studies", ["patient_name"])

    op.create_table(
        "dicom_series",
        sa.Column("series_uid", sa.String(64), nullable=False),
        sa.Column("study_uid", sa.String(64), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("num_instances", sa.Integer(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("series_uid", name="pk_dicom_series"),
    )
    op.create_index("ix_dicom_series_study_uid", "dicom_series", ["study_uid"])

    op.create_table(
        "dicom_instances",
        sa.Column("sop_uid", sa.String(64), nullable=False),
        sa.Column("series_uid", sa.String(64), nullable=False),
        sa.Column("study_uid", sa.String(64), nullable=False),
        sa.Column("sop_class_uid", sa.String(64), nullable=False),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("columns", sa.Integer(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sop_uid", name="pk_dicom_instances"),
    )
    op.create_index("ix_dicom_instances_series_uid", "dicom_instances", ["series_uid"])
    op.create_index("ix_dicom_instances_study_uid", "dicom_instances", ["study_uid"])

    op.create_table(
        "dicom_shares",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("study_uids", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dicom_shares"),
    )
    op.create_index("ix_dicom_shares_patient_id", "dicom_shares", ["patient_id"])


def downgrade() -> None:
    op.drop_table("dicom_shares")
    op.drop_table("dicom_instances")
    op.drop_table("dicom_series")
    op.drop_table("dicom_studies")
