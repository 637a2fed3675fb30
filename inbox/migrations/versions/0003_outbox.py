"""the outbox: texts owed to the SMS provider

Revision ID: 0003_outbox
Revises: 0002
Create Date: 2026-12-01
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003_outbox'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('callback_base', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('bulk', sa.Boolean(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('in_doubt', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('message_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_due_at'), ['due_at'], unique=False)

    # Texts the old in-memory delivery left queued (a restart, a crash) are owed: each may have
    # reached Twilio before the process stopped, so it is asked for first (in doubt).
    outbox = sa.table(
        'outbox',
        sa.column('message_id', sa.Integer()),
        sa.column('bulk', sa.Boolean()),
        sa.column('due_at', sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column('attempts', sa.Integer()),
        sa.column('in_doubt', sa.Boolean()),
    )
    message = sa.table(
        'message',
        sa.column('id', sa.Integer()),
        sa.column('direction', sa.String()),
        sa.column('status', sa.String()),
        sa.column('provider_sid', sa.String()),
    )
    now = sa.literal(datetime.now(UTC), sqlmodel.sql.sqltypes.UTCDateTime())
    owed = sa.select(message.c.id, sa.false(), now, sa.literal(0), sa.true()).where(
        message.c.direction == 'outbound',
        message.c.status == 'queued',
        message.c.provider_sid.is_(None),
    )
    op.execute(
        outbox.insert().from_select(
            ['message_id', 'bulk', 'due_at', 'attempts', 'in_doubt'], owed
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_due_at'))

    op.drop_table('outbox')
