"""sends: replies to send on the platforms, one row per reply id

Revision ID: 5e4d0c7a91b2
Revises: 9575350e7828
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e4d0c7a91b2"
down_revision: str | None = "9575350e7828"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sends",
        sa.Column("send_id", sa.String(length=100), nullable=False),
        sa.Column("request_event_id", sa.String(length=100), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("thread_key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_before_send", sa.Boolean(), nullable=False),
        sa.Column("platform_message_id", sa.String(length=200), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("send_id", name=op.f("pk_sends")),
        schema="ingest",
    )
    op.create_index(
        "ix_sends_state_next_attempt_at",
        "sends",
        ["state", "next_attempt_at"],
        unique=False,
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_sends_finished_at"),
        "sends",
        ["finished_at"],
        unique=False,
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ingest_sends_finished_at"), table_name="sends", schema="ingest")
    op.drop_index("ix_sends_state_next_attempt_at", table_name="sends", schema="ingest")
    op.drop_table("sends", schema="ingest")
