"""case keys deferrable: the foreign keys of case history and case messages to their case may
be checked at commit; the case intake writes a poll's history rows and messages while it is
still deciding the poll's cases, before it inserts them

The keys stay `INITIALLY IMMEDIATE`: every other transaction is checked row by row as before;
only one that says `SET CONSTRAINTS ALL DEFERRED` (the intake's poll on PostgreSQL,
services/routing/cases/intake.py) is checked at its commit. SQLite's foreign keys are left as
they are: the intake writes nothing ahead there.

Revision ID: f2a4c6e8b0d3
Revises: c3e5a7b9d1f2
Create Date: 2026-12-02 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2a4c6e8b0d3"
down_revision: str | None = "c3e5a7b9d1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINTS = {
    "case_history": "fk_case_history_case_id_cases",
    "case_messages": "fk_case_messages_case_id_cases",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, constraint in CONSTRAINTS.items():
            op.execute(
                f'ALTER TABLE "routing".{table} ALTER CONSTRAINT {constraint} '
                "DEFERRABLE INITIALLY IMMEDIATE"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, constraint in CONSTRAINTS.items():
            op.execute(
                f'ALTER TABLE "routing".{table} ALTER CONSTRAINT {constraint} NOT DEFERRABLE'
            )
