"""delivery reports that came before their send was recorded; the brands given the default
canned replies

Revision ID: b7c9d1e3f5a6
Revises: d4a8c2e6f1b3
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c9d1e3f5a6"
down_revision: str | None = "d4a8c2e6f1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_delivery_reports",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("platform_message_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "brand_id", "platform_message_id", "status", name=op.f("pk_pending_delivery_reports")
        ),
        schema="routing",
    )
    op.create_index(
        "ix_pending_delivery_reports_received_at",
        "pending_delivery_reports",
        ["received_at"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "canned_reply_seeds",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("seeded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_canned_reply_seeds")),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("canned_reply_seeds", schema="routing")
    op.drop_index(
        "ix_pending_delivery_reports_received_at",
        table_name="pending_delivery_reports",
        schema="routing",
    )
    op.drop_table("pending_delivery_reports", schema="routing")
