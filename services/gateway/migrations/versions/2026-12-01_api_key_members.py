"""api key member binding

Revision ID: 7e3b9d1f5a2c
Revises: 5b0d3f1e9a27
Create Date: 2026-12-01 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e3b9d1f5a2c"
down_revision: str | None = "5b0d3f1e9a27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file).
    return None if op.get_bind().dialect.name == "sqlite" else "gateway"


def upgrade() -> None:
    # NULL for every existing key: a system key, bound to no member, as before.
    op.add_column(
        "api_keys", sa.Column("member_id", sa.String(length=36), nullable=True), schema=_schema()
    )
    op.add_column(
        "api_keys",
        sa.Column("member_brand_id", sa.String(length=100), nullable=True),
        schema=_schema(),
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=_schema()) as batch:
        batch.drop_column("member_brand_id")
        batch.drop_column("member_id")
