"""team: departments, members, accounts and grants, responsibilities, rules, SLA policies

Revision ID: 3f6a9c1d2b7e
Revises: 5d0c1e7a9b21
Create Date: 2026-12-01 13:46:44.446391
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f6a9c1d2b7e"
down_revision: str | None = "5d0c1e7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("external_account_id", sa.String(length=200), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "brand_id",
            "channel",
            "external_account_id",
            name=op.f("uq_accounts_brand_id_channel_external_account_id"),
        ),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_accounts_connection_id"),
        "accounts",
        ["connection_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "config_versions",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_config_versions")),
        schema="routing",
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name_es", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("brand_id", "key", name=op.f("uq_departments_brand_id_key")),
        schema="routing",
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("availability", sa.String(length=20), server_default="offline", nullable=False),
        sa.Column(
            "availability_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("open_cases", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("brand_id", "email", name=op.f("uq_members_brand_id_email")),
        schema="routing",
    )
    op.create_index(
        "ix_members_brand_id_created_at",
        "members",
        ["brand_id", "created_at", "id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("stop", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        schema="routing",
    )
    op.create_index(
        "ix_rules_brand_id_position",
        "rules",
        ["brand_id", "position", "id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "access_grants",
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("can_read", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("can_reply", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["routing.accounts.id"],
            name=op.f("fk_access_grants_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["routing.members.id"],
            name=op.f("fk_access_grants_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "account_id", name=op.f("pk_access_grants")),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_access_grants_account_id"),
        "access_grants",
        ["account_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "member_departments",
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["routing.departments.id"],
            name=op.f("fk_member_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["routing.members.id"],
            name=op.f("fk_member_departments_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "department_id", name=op.f("pk_member_departments")),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_member_departments_department_id"),
        "member_departments",
        ["department_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "responsibilities",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["routing.departments.id"],
            name=op.f("fk_responsibilities_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("brand_id", "intent", name=op.f("pk_responsibilities")),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_responsibilities_department_id"),
        "responsibilities",
        ["department_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("next_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("business_hours", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["routing.departments.id"],
            name=op.f("fk_sla_policies_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint(
            "brand_id",
            "department_id",
            "priority",
            name=op.f("uq_sla_policies_brand_id_department_id_priority"),
        ),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_sla_policies_department_id"),
        "sla_policies",
        ["department_id"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:

    op.drop_index(
        op.f("ix_routing_sla_policies_department_id"), table_name="sla_policies", schema="routing"
    )
    op.drop_table("sla_policies", schema="routing")
    op.drop_index(
        op.f("ix_routing_responsibilities_department_id"),
        table_name="responsibilities",
        schema="routing",
    )
    op.drop_table("responsibilities", schema="routing")
    op.drop_index(
        op.f("ix_routing_member_departments_department_id"),
        table_name="member_departments",
        schema="routing",
    )
    op.drop_table("member_departments", schema="routing")
    op.drop_index(
        op.f("ix_routing_access_grants_account_id"), table_name="access_grants", schema="routing"
    )
    op.drop_table("access_grants", schema="routing")
    op.drop_index("ix_rules_brand_id_position", table_name="rules", schema="routing")
    op.drop_table("rules", schema="routing")
    op.drop_index("ix_members_brand_id_created_at", table_name="members", schema="routing")
    op.drop_table("members", schema="routing")
    op.drop_table("departments", schema="routing")
    op.drop_table("config_versions", schema="routing")
    op.drop_index(
        op.f("ix_routing_accounts_connection_id"), table_name="accounts", schema="routing"
    )
    op.drop_table("accounts", schema="routing")
