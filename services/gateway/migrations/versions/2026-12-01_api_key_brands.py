"""api key brand limits

Revision ID: 5b0d3f1e9a27
Revises: ec72c47c4674
Create Date: 2026-12-01 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0d3f1e9a27"
down_revision: str | None = "ec72c47c4674"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); ALTER TABLE names are not
    # translated the way CREATE TABLE's are.
    return None if op.get_bind().dialect.name == "sqlite" else "gateway"


def upgrade() -> None:
    # NULL for every existing key: it keeps seeing every brand, as before.
    op.add_column("api_keys", sa.Column("brands", sa.JSON(), nullable=True), schema=_schema())


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=_schema()) as batch:
        batch.drop_column("brands")
