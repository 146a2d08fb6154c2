"""retention indexes: the purge job deletes by age

Revision ID: c5c3b5282c5b
Revises: 22cbf9e596e1
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c5c3b5282c5b"
down_revision: str | None = "22cbf9e596e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_kpi_processed_events_processed_at"),
        "processed_events",
        ["processed_at"],
        unique=False,
        schema="kpi",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_kpi_processed_events_processed_at"),
        table_name="processed_events",
        schema="kpi",
    )
