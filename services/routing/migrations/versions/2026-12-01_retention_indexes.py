"""retention indexes: the purge job deletes by age

Revision ID: 6d8775495239
Revises: b8be86ce70c5
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6d8775495239"
down_revision: str | None = "b8be86ce70c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_routing_processed_events_processed_at"),
        "processed_events",
        ["processed_at"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_routing_processed_events_processed_at"),
        table_name="processed_events",
        schema="routing",
    )
