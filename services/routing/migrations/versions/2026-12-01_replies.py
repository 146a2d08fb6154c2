"""replies and reply settings (after canned replies, which created idempotent_responses)

Revision ID: d4a8c2e6f1b3
Revises: e9b1d3f5a7c2
Create Date: 2026-12-01 17:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d4a8c2e6f1b3"
down_revision: str | None = "e9b1d3f5a7c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("thread_key", sa.String(length=500), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=True),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("author_key_id", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("approval_reasons", sa.JSON(), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=True),
        sa.Column("check_passed", sa.Boolean(), nullable=True),
        sa.Column("check_score", sa.Float(), nullable=True),
        sa.Column("check_band", sa.String(length=10), nullable=True),
        sa.Column("guideline_version", sa.Integer(), nullable=True),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("first_check_passed", sa.Boolean(), nullable=True),
        _at("answers_inbound_at"),
        sa.Column("send_kind", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        _at("last_inbound_at"),
        sa.Column("platform_message_id", sa.String(length=200), nullable=True),
        sa.Column("delivery_status", sa.String(length=20), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("reviewer_id", sa.String(length=36), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        _at("created_at", nullable=False),
        _at("submitted_at", nullable=False),
        _at("approved_at"),
        _at("rejected_at"),
        _at("send_requested_at"),
        _at("sent_at"),
        _at("failed_at"),
        _at("delivered_at"),
        _at("read_at"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["routing.cases.id"],
            name=op.f("fk_replies_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        schema="routing",
    )
    op.create_index(
        "ix_replies_case_id_created_at",
        "replies",
        ["case_id", "created_at"],
        unique=False,
        schema="routing",
    )
    op.create_index(
        "ix_replies_status_submitted_at",
        "replies",
        ["status", "submitted_at", "id"],
        unique=False,
        schema="routing",
    )
    op.create_index(
        "ix_replies_platform_message_id",
        "replies",
        ["platform_message_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "reply_settings",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("resolve_on_reply", sa.Boolean(), nullable=False),
        sa.Column("approval_departments", sa.JSON(), nullable=False),
        sa.Column("approval_priorities", sa.JSON(), nullable=False),
        sa.Column("approval_min_followers", sa.BigInteger(), nullable=True),
        sa.Column("approval_below_band", sa.String(length=10), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_reply_settings")),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("reply_settings", schema="routing")
    op.drop_index("ix_replies_platform_message_id", table_name="replies", schema="routing")
    op.drop_index("ix_replies_status_submitted_at", table_name="replies", schema="routing")
    op.drop_index("ix_replies_case_id_created_at", table_name="replies", schema="routing")
    op.drop_table("replies", schema="routing")
