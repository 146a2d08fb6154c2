"""idempotent responses: stored answers of POSTs carrying an Idempotency-Key

Revision ID: c6d8e0f2a4b5
Revises: 508bb5172675
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c6d8e0f2a4b5"
down_revision: str | None = "508bb5172675"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotent_responses",
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("owner", "key", name=op.f("pk_idempotent_responses")),
        schema="webhooks",
    )
    op.create_index(
        "ix_idempotent_responses_created_at",
        "idempotent_responses",
        ["created_at"],
        unique=False,
        schema="webhooks",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_idempotent_responses_created_at", table_name="idempotent_responses", schema="webhooks"
    )
    op.drop_table("idempotent_responses", schema="webhooks")
