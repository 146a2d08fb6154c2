"""fans, ideas and alerts: fan_*, idea_*, alert_* tables

Revision ID: a7d1e4f0b2c9
Revises: 4b7d2e9a1f30
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7d1e4f0b2c9"
down_revision: str | None = "4b7d2e9a1f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title_es", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("interaction_ids", sa.JSON(), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("thread_keys", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_alerts")),
        schema="kpi",
    )
    op.create_index(
        "ix_alert_alerts_brand_raised",
        "alert_alerts",
        ["brand_id", "raised_at", "id"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_alert_alerts_resolved_at"),
        "alert_alerts",
        ["resolved_at"],
        unique=False,
        schema="kpi",
    )
    op.create_table(
        "alert_detector_states",
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("brand_id", "scope", name=op.f("pk_alert_detector_states")),
        schema="kpi",
    )
    op.create_table(
        "fan_cases",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_fan_cases")),
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_cases_opened_at"), "fan_cases", ["opened_at"], unique=False, schema="kpi"
    )
    op.create_index(
        op.f("ix_kpi_fan_cases_person_id"), "fan_cases", ["person_id"], unique=False, schema="kpi"
    )
    op.create_table(
        "fan_interactions",
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("sentiment_label", sa.String(length=10), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_fan_interactions")),
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_interactions_created_at"),
        "fan_interactions",
        ["created_at"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_interactions_person_id"),
        "fan_interactions",
        ["person_id"],
        unique=False,
        schema="kpi",
    )
    op.create_table(
        "fan_people",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("sentiment_sum", sa.Float(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("hr_cases", sa.Integer(), nullable=False),
        sa.Column("hr_only", sa.Boolean(), nullable=False),
        sa.Column("influence", sa.Float(), nullable=False),
        sa.Column("advocacy", sa.Float(), nullable=False),
        sa.Column("detraction", sa.Float(), nullable=False),
        sa.Column("advocate", sa.Boolean(), nullable=False),
        sa.Column("detractor", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_people")),
        schema="kpi",
    )
    op.create_index(
        "ix_fan_people_brand_advocacy",
        "fan_people",
        ["brand_id", "advocacy", "id"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        "ix_fan_people_brand_detraction",
        "fan_people",
        ["brand_id", "detraction", "id"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        "ix_fan_people_brand_influence",
        "fan_people",
        ["brand_id", "influence", "id"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_people_last_contact_at"),
        "fan_people",
        ["last_contact_at"],
        unique=False,
        schema="kpi",
    )
    op.create_table(
        "fan_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("author_external_id", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_profiles")),
        sa.UniqueConstraint(
            "brand_id",
            "channel",
            "author_external_id",
            name=op.f("uq_fan_profiles_brand_id_channel_author_external_id"),
        ),
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_profiles_last_contact_at"),
        "fan_profiles",
        ["last_contact_at"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_fan_profiles_person_id"),
        "fan_profiles",
        ["person_id"],
        unique=False,
        schema="kpi",
    )
    op.create_table(
        "idea_items",
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_profile_id", sa.String(length=36), nullable=True),
        sa.Column("sentiment_label", sa.String(length=10), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_idea_items")),
        schema="kpi",
    )
    op.create_index(
        "ix_idea_items_brand_created",
        "idea_items",
        ["brand_id", "created_at"],
        unique=False,
        schema="kpi",
    )
    op.create_index(
        op.f("ix_kpi_idea_items_created_at"),
        "idea_items",
        ["created_at"],
        unique=False,
        schema="kpi",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kpi_idea_items_created_at"), table_name="idea_items", schema="kpi")
    op.drop_index("ix_idea_items_brand_created", table_name="idea_items", schema="kpi")
    op.drop_table("idea_items", schema="kpi")
    op.drop_index(op.f("ix_kpi_fan_profiles_person_id"), table_name="fan_profiles", schema="kpi")
    op.drop_index(
        op.f("ix_kpi_fan_profiles_last_contact_at"), table_name="fan_profiles", schema="kpi"
    )
    op.drop_table("fan_profiles", schema="kpi")
    op.drop_index(op.f("ix_kpi_fan_people_last_contact_at"), table_name="fan_people", schema="kpi")
    op.drop_index("ix_fan_people_brand_influence", table_name="fan_people", schema="kpi")
    op.drop_index("ix_fan_people_brand_detraction", table_name="fan_people", schema="kpi")
    op.drop_index("ix_fan_people_brand_advocacy", table_name="fan_people", schema="kpi")
    op.drop_table("fan_people", schema="kpi")
    op.drop_index(
        op.f("ix_kpi_fan_interactions_person_id"), table_name="fan_interactions", schema="kpi"
    )
    op.drop_index(
        op.f("ix_kpi_fan_interactions_created_at"), table_name="fan_interactions", schema="kpi"
    )
    op.drop_table("fan_interactions", schema="kpi")
    op.drop_index(op.f("ix_kpi_fan_cases_person_id"), table_name="fan_cases", schema="kpi")
    op.drop_index(op.f("ix_kpi_fan_cases_opened_at"), table_name="fan_cases", schema="kpi")
    op.drop_table("fan_cases", schema="kpi")
    op.drop_table("alert_detector_states", schema="kpi")
    op.drop_index(op.f("ix_kpi_alert_alerts_resolved_at"), table_name="alert_alerts", schema="kpi")
    op.drop_index("ix_alert_alerts_brand_raised", table_name="alert_alerts", schema="kpi")
    op.drop_table("alert_alerts", schema="kpi")
