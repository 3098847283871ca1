"""Meetings, their streams, transcript segments and notes versions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("first_event_at", sa.DateTime(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime()),
    )
    op.create_table(
        "streams",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("participant_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("finals_expected", sa.Integer()),
    )
    op.create_table(
        "segments",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("segment_id", sa.String(200), primary_key=True),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("participant_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoken_at", sa.Float(), nullable=False),
        sa.Column("event_offset", sa.BigInteger(), nullable=False),
    )
    op.create_index("segments_by_time", "segments", ["meeting_id", "spoken_at"])
    op.create_table(
        "notes",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("version", sa.BigInteger(), primary_key=True),
        sa.Column("backend", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("notes", "segments", "streams", "meetings"):
        op.drop_table(table)
