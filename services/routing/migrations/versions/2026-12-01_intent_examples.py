"""intent examples

Revision ID: 5d0c1e7a9b21
Revises: 6d8775495239
Create Date: 2026-12-01 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0c1e7a9b21"
down_revision: str | None = "6d8775495239"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intent_examples",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("previous_intent", sa.String(length=40), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("channel", sa.String(length=30), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("labelled_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_examples")),
        sa.UniqueConstraint(
            "brand_id", "text_sha256", name=op.f("uq_intent_examples_brand_id_text_sha256")
        ),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_intent_examples_brand_id"),
        "intent_examples",
        ["brand_id"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_routing_intent_examples_brand_id"), table_name="intent_examples", schema="routing"
    )
    op.drop_table("intent_examples", schema="routing")
