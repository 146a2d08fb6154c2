"""retention indexes: the purge job deletes by age

Revision ID: 86ad75142361
Revises: 37655002fad1
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "86ad75142361"
down_revision: str | None = "37655002fad1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_guidelines_processed_events_processed_at"),
        "processed_events",
        ["processed_at"],
        unique=False,
        schema="guidelines",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_guidelines_processed_events_processed_at"),
        table_name="processed_events",
        schema="guidelines",
    )
