"""retention indexes: the purge job deletes by age

Revision ID: 9575350e7828
Revises: a677c53afe9a
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9575350e7828"
down_revision: str | None = "a677c53afe9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_ingest_processed_events_processed_at"),
        "processed_events",
        ["processed_at"],
        unique=False,
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_delivery_keys_created_at"),
        "delivery_keys",
        ["created_at"],
        unique=False,
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_ingest_delivery_keys_created_at"), table_name="delivery_keys", schema="ingest"
    )
    op.drop_index(
        op.f("ix_ingest_processed_events_processed_at"),
        table_name="processed_events",
        schema="ingest",
    )
