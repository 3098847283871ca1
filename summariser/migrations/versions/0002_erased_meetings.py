"""Deleted meetings and when: events emitted before then must not bring them back.

Revision ID: 0002
Revises: 0001
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
        "erased_meetings",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_meetings")
