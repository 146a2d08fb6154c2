"""outbox pending index: the relay reads unpublished rows through a partial index of their ids,
and autovacuum comes by the outbox after 2% of it changed

The index of `published_at` held every published row and took a new entry at every stamp; the
partial index holds the backlog only. Storage parameters exist on PostgreSQL only.

Revision ID: c4d6e8f0a2b3
Revises: d5a7b9c1e3f4
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d6e8f0a2b3"
down_revision: str | None = "d5a7b9c1e3f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_STORAGE = "autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["id"],
        unique=False,
        schema="kpi",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(
        op.f("ix_kpi_outbox_events_published_at"), table_name="outbox_events", schema="kpi"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "kpi".outbox_events SET (' + OUTBOX_STORAGE + ")")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'ALTER TABLE "kpi".outbox_events RESET '
            "(autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)"
        )
    op.create_index(
        op.f("ix_kpi_outbox_events_published_at"),
        "outbox_events",
        ["published_at"],
        unique=False,
        schema="kpi",
    )
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events", schema="kpi")
