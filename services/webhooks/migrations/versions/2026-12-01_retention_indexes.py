"""retention indexes: the purge job deletes by age

Revision ID: 34ae0b757cf3
Revises: 7baa397ed9e5
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "34ae0b757cf3"
down_revision: str | None = "7baa397ed9e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_webhooks_processed_events_processed_at"),
        "processed_events",
        ["processed_at"],
        unique=False,
        schema="webhooks",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_webhooks_processed_events_processed_at"),
        table_name="processed_events",
        schema="webhooks",
    )
