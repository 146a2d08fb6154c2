"""rollups fillfactor: pages of `rollups` are filled to 70%, so that the fold's updates of a
row (every event adds to its minute, hour and day rows) fit on the row's own page and are HOT
updates, with no new entry in the seven-column primary key

Only pages written from now on keep the room; existing ones get it when the table is rewritten
(VACUUM FULL, CLUSTER). Storage parameters exist on PostgreSQL only.

Revision ID: d1b3c5e7f9a2
Revises: c4d6e8f0a2b3
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d1b3c5e7f9a2"
down_revision: str | None = "c4d6e8f0a2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS_FILLFACTOR = 70


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE "kpi".rollups SET (fillfactor = {ROLLUPS_FILLFACTOR})')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "kpi".rollups RESET (fillfactor)')
