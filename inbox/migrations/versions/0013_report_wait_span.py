"""report wait span: an index of the waits' histograms by period and start that covers a whole
bucket's read (its count, median and p90), so a report seeks its ranges' rows instead of reading
every row of its inboxes' agents (docs/performance.md, "Reports")

Revision ID: 0013_report_wait_span
Revises: 0012_report_days
Create Date: 2026-12-01
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0013_report_wait_span'
down_revision: str | None = '0012_report_days'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAST_BIN = 'n249'  # inbox/models.py, WAIT_BINS


def upgrade() -> None:
    op.create_index(
        'ix_report_wait_span', 'report_wait',
        ['period', 'start', 'inbox_id', 'agent_id', 'first_only', LAST_BIN, 'p50', 'p90'],
    )


def downgrade() -> None:
    op.drop_index('ix_report_wait_span', table_name='report_wait')
