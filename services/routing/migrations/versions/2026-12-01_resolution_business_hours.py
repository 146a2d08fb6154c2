"""cases: resolution time in the department's business hours

Revision ID: a2b4c6d8e0f1
Revises: b7c9d1e3f5a6
Create Date: 2026-12-01 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a2b4c6d8e0f1"
down_revision: str | None = "b7c9d1e3f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file).
    return None if op.get_bind().dialect.name == "sqlite" else "routing"


def upgrade() -> None:
    # NULL for cases resolved before: their events carry no business-hours resolution time.
    op.add_column(
        "cases",
        sa.Column("resolution_business_seconds", sa.Float(), nullable=True),
        schema=_schema(),
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=_schema()) as batch:
        batch.drop_column("resolution_business_seconds")
