"""supervisors: automatic assignment and the SLA target per inbox, the waiting customer's clock
per conversation, and the indexes the reports read by

Revision ID: 0009_supervisors
Revises: 0008_numbers
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009_supervisors'
down_revision: str | None = '0008_numbers'
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


# Every earlier reply of a person to a waiting customer, for the reports: the waiting spells
# of each conversation (an inbound text after a reply, or first, starts one; its first reply
# ends it), as inbox/outbound.py records them from now on.
RESPONSE_TIMES = """
WITH flow AS (
    SELECT m.id, m.conversation_id AS cid, m.inbox_id, m.created_at AS at, m.sender_id AS sender,
           CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END AS inbound
    FROM message m LEFT JOIN "user" u ON u.id = m.sender_id
    WHERE m.direction = 'inbound'
       OR (m.direction = 'outbound' AND NOT m.automatic AND NOT m.bulk
           AND m.sender_id IS NOT NULL AND u.role != 'bot')
), marked AS (
    SELECT flow.*, CASE WHEN inbound = 1 AND coalesce(
        lag(inbound) OVER (PARTITION BY cid ORDER BY at, id), 0) = 0 THEN 1 ELSE 0 END AS starts
    FROM flow
), numbered AS (
    SELECT marked.*, sum(starts) OVER (PARTITION BY cid ORDER BY at, id
                                       ROWS UNBOUNDED PRECEDING) AS spell
    FROM marked
), ordered AS (
    SELECT numbered.*,
           row_number() OVER (PARTITION BY cid, spell, inbound ORDER BY at, id) AS nth,
           min(CASE WHEN inbound = 1 THEN at END) OVER (PARTITION BY cid, spell) AS started
    FROM numbered WHERE spell > 0
)
INSERT INTO response_time
    (message_id, conversation_id, inbox_id, user_id, started_at, answered_at, "first")
SELECT id, cid, inbox_id, sender, started, at, spell = 1
FROM ordered
WHERE inbound = 0 AND nth = 1
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
    op.create_table('response_time',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('first', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('message_id')
    )
    op.create_index(op.f('ix_response_time_conversation_id'), 'response_time', ['conversation_id'], unique=False)
    op.create_index('ix_response_time_inbox_started', 'response_time', ['inbox_id', 'started_at'], unique=False)
    op.execute(RESPONSE_TIMES)


def downgrade() -> None:
    op.drop_index('ix_response_time_inbox_started', table_name='response_time')
    op.drop_index(op.f('ix_response_time_conversation_id'), table_name='response_time')
    op.drop_table('response_time')
    op.drop_index('ix_message_inbox_created', table_name='message')
    op.drop_column('message', 'bulk')
    op.drop_index(op.f('ix_conversation_waiting_since'), table_name='conversation')
    op.drop_column('conversation', 'archived_at')
    op.drop_column('conversation', 'waiting_since')
    op.drop_column('inbox', 'sla_minutes')
    op.drop_column('inbox', 'assignment_last_id')
    op.drop_column('inbox', 'assignment_cap')
    op.drop_column('inbox', 'assignment')
