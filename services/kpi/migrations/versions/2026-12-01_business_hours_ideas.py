"""business-hours response times, ideas collected and backlog: fact columns, rollup measures, index

Revision ID: d5a7b9c1e3f4
Revises: b3e5f7a9c1d2
Create Date: 2026-12-01 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5a7b9c1e3f4"
down_revision: str | None = "b3e5f7a9c1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLY_COLUMNS = ("first_inbound_business_ms", "answers_inbound_business_ms")
CASE_COLUMNS = ("resolution_business_ms",)
ROLLUP_MEASURES = (
    "first_response_business_count",
    "first_response_business_ms",
    "next_response_business_count",
    "next_response_business_ms",
    "resolution_business_count",
    "resolution_business_ms",
    "ideas_collected",
)


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file).
    return None if op.get_bind().dialect.name == "sqlite" else "kpi"


def upgrade() -> None:
    for name in REPLY_COLUMNS:
        op.add_column(
            "reply_facts", sa.Column(name, sa.BigInteger(), nullable=True), schema=_schema()
        )
    for name in CASE_COLUMNS:
        op.add_column(
            "case_facts", sa.Column(name, sa.BigInteger(), nullable=True), schema=_schema()
        )
    for name in ROLLUP_MEASURES:
        op.add_column(
            "rollups",
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False),
            schema=_schema(),
        )
    op.create_index(
        "ix_case_facts_brand_status",
        "case_facts",
        ["brand_id", "status"],
        unique=False,
        schema=_schema(),
    )


def downgrade() -> None:
    op.drop_index("ix_case_facts_brand_status", table_name="case_facts", schema=_schema())
    for table, names in (
        ("rollups", ROLLUP_MEASURES),
        ("case_facts", CASE_COLUMNS),
        ("reply_facts", REPLY_COLUMNS),
    ):
        with op.batch_alter_table(table, schema=_schema()) as batch:
            for name in reversed(names):
                batch.drop_column(name)
