"""canned replies; reassignment of idle assignees (SLA policy minutes, case mark);
stored answers of POSTs with an Idempotency-Key

Revision ID: e9b1d3f5a7c2
Revises: 8c4e1f2a6d90
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9b1d3f5a7c2"
down_revision: str | None = "8c4e1f2a6d90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); ALTER TABLE names are not
    # translated the way CREATE TABLE's are.
    return None if op.get_bind().dialect.name == "sqlite" else "routing"


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("hr", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("guideline_version", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint(
            "brand_id", "lang", "code", name=op.f("uq_canned_replies_brand_id_lang_code")
        ),
        schema="routing",
    )
    op.create_index(
        "ix_canned_replies_brand_id_lang_enabled",
        "canned_replies",
        ["brand_id", "lang", "enabled"],
        unique=False,
        schema="routing",
    )
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
        schema="routing",
    )
    op.add_column(
        "sla_policies",
        sa.Column("reassign_after_minutes", sa.Integer(), nullable=True),
        schema=_schema(),
    )
    op.add_column(
        "cases",
        sa.Column("reassign_attempted_at", sa.DateTime(timezone=True), nullable=True),
        schema=_schema(),
    )
    op.create_index(
        "ix_cases_sla_policy_id_assigned_at",
        "cases",
        ["sla_policy_id", "assigned_at"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:
    op.drop_index("ix_cases_sla_policy_id_assigned_at", table_name="cases", schema="routing")
    with op.batch_alter_table("cases", schema=_schema()) as batch:
        batch.drop_column("reassign_attempted_at")
    with op.batch_alter_table("sla_policies", schema=_schema()) as batch:
        batch.drop_column("reassign_after_minutes")
    op.drop_index(
        "ix_canned_replies_brand_id_lang_enabled", table_name="canned_replies", schema="routing"
    )
    op.drop_table("canned_replies", schema="routing")
    op.drop_table("idempotent_responses", schema="routing")
