"""fan engagement: engagement records on fans' posts count for their influence

Revision ID: b3e5f7a9c1d2
Revises: a7d1e4f0b2c9
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3e5f7a9c1d2"
down_revision: str | None = "a7d1e4f0b2c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fan_engagement",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_fan_engagement")),
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_engagement_interaction_id"),
        "fan_engagement",
        ["interaction_id"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_engagement_occurred_at"),
        "fan_engagement",
        ["occurred_at"],
        unique=False,
        schema="kpi",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_kpi_fan_engagement_occurred_at"), table_name="fan_engagement", schema="kpi"
    )
    op.drop_index(
        op.f("ix_kpi_fan_engagement_interaction_id"), table_name="fan_engagement", schema="kpi"
    )
    op.drop_table("fan_engagement", schema="kpi")
