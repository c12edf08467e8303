"""Video consults: rooms, participants and revoked join tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_rooms",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("first_join", sa.DateTime(), nullable=True),
        sa.Column("ended", sa.DateTime(), nullable=True),
        sa.Column("encounter_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_video_rooms"),
        sa.UniqueConstraint("appointment_id", name="uq_video_rooms_appointment_id"),
        sa.UniqueConstraint("task_id", name="uq_video_rooms_task_id"),
    )
    op.create_index("ix_video_rooms_patient_id", "video_rooms", ["patient_id"])

    op.create_table(
        "video_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("issued", sa.DateTime(), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["video_rooms.id"], name="fk_video_tokens_room_id_video_rooms"),
        sa.PrimaryKeyConstraint("jti", name="pk_video_tokens"),
    )
    op.create_index("ix_video_tokens_room_id", "video_tokens", ["room_id"])

    op.create_table(
        "video_participations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("practitioner_id", sa.String(64), nullable=True),
        sa.Column("joined", sa.DateTime(), nullable=False),
        sa.Column("left", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["video_rooms.id"], name="fk_video_participations_room_id_video_rooms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_video_participations"),
    )
    op.create_index("ix_video_participations_room_joined", "video_participations", ["room_id", "joined"])


def downgrade() -> None:
    op.drop_table("video_participations")
    op.drop_table("video_tokens")
    op.drop_index("ix_video_rooms_patient_id", table_name="video_rooms")
    op.drop_table("video_rooms")
