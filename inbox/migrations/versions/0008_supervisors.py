"""supervisors: automatic assignment and the SLA target per inbox, the waiting customer's clock
per conversation, and the indexes the reports read by

Revision ID: 0008_supervisors
Revises: 0005_admin
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008_supervisors'
down_revision: str | None = '0005_admin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The oldest inbound text after the last reply by a person (not automatic, not a bot; a bulk
# send cannot be told from a reply in old rows, so there it counts as one).
WAITING_SINCE = """
UPDATE conversation SET waiting_since = (
    SELECT min(m.created_at) FROM message m
    WHERE m.conversation_id = conversation.id AND m.direction = 'inbound'
    AND m.created_at > coalesce((
        SELECT max(r.created_at) FROM message r JOIN "user" u ON u.id = r.sender_id
        WHERE r.conversation_id = conversation.id AND r.direction = 'outbound'
        AND NOT r.automatic AND u.role != 'bot'
    ), '1970-01-01')
)
"""


def upgrade() -> None:
    # Plain columns added in place (0005_admin says why not batch mode).
    op.add_column('inbox', sa.Column('assignment', sqlmodel.sql.sqltypes.AutoString(), server_default='off', nullable=False))
    op.add_column('inbox', sa.Column('assignment_cap', sa.Integer(), nullable=True))
    op.add_column('inbox', sa.Column('assignment_last_id', sa.Integer(), nullable=True))
    op.add_column('inbox', sa.Column('sla_minutes', sa.Float(), nullable=True))
    op.add_column('conversation', sa.Column('waiting_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('conversation', sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index(op.f('ix_conversation_waiting_since'), 'conversation', ['waiting_since'], unique=False)
    op.execute(WAITING_SINCE)
    op.add_column('message', sa.Column('bulk', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_message_inbox_created', 'message', ['inbox_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_inbox_created', table_name='message')
    op.drop_column('message', 'bulk')
    op.drop_index(op.f('ix_conversation_waiting_since'), table_name='conversation')
    op.drop_column('conversation', 'archived_at')
    op.drop_column('conversation', 'waiting_since')
    op.drop_column('inbox', 'sla_minutes')
    op.drop_column('inbox', 'assignment_last_id')
    op.drop_column('inbox', 'assignment_cap')
    op.drop_column('inbox', 'assignment')
