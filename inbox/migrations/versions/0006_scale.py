"""64-bit event ids

The event log's `id` and the team's `last_event_id` were 32-bit on PostgreSQL (a busy team's
counter would stop at 2,147,483,647); SQLite's INTEGER is 64-bit already: nothing to do there.

Revision ID: 0006_scale
Revises: 0005_admin
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_scale'
down_revision: str | None = '0005_admin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (('event', 'id'), ('team', 'last_event_id'))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False
        )
