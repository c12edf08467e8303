"""Outreach: scheduled check-in and reminder jobs and their attempts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(140), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("lease_expiries", sa.Integer(), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("first_sent_at", sa.DateTime(), nullable=True),
        sa.Column("fired_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outreach_jobs"),
        sa.UniqueConstraint("source", "kind", "due_at", name="uq_outreach_jobs_source_kind_due"),
    )
    op.create_index("ix_outreach_jobs_patient_id", "outreach_jobs", ["patient_id"])
    op.create_index("ix_outreach_jobs_status_next", "outreach_jobs", ["status", "next_at"])

    op.create_table(
        "outreach_attempts",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("provider_ref", sa.String(100), nullable=True),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outreach_attempts"),
    )
    op.create_index("ix_outreach_attempts_job_id", "outreach_attempts", ["job_id"])

    op.create_table(
        "outreach_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.String(100), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outreach_notifications"),
        sa.UniqueConstraint("attempt_id", name="uq_outreach_notifications_attempt_id"),
    )
    op.create_index("ix_outreach_notifications_job_id", "outreach_notifications", ["job_id"])
    op.create_index("ix_outreach_notifications_patient_id", "outreach_notifications", ["patient_id", "id"])

    op.create_table(
        "outreach_preferences",
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name="pk_outreach_preferences"),
    )


def downgrade() -> None:
    op.drop_table("outreach_preferences")
    op.drop_table("outreach_notifications")
    op.drop_table("outreach_attempts")
    op.drop_table("outreach_jobs")
