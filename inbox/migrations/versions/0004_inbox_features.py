"""inbox features: tags, canned responses, mentions in private notes, contact notes

Private notes are message rows with direction "note" (docs/decisions.md, "Inbox features"),
so they need no table of their own.

Revision ID: 0004_inbox_features
Revises: 0003_outbox
Create Date: 2026-12-08
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_inbox_features'
down_revision: str | None = '0003_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('colour', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'name')
    )
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_team_id'), ['team_id'], unique=False)

    op.create_table('cannedresponse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cannedresponse_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cannedresponse_team_id'), ['team_id'], unique=False)

    op.create_table('conversationtag',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ),
    sa.PrimaryKeyConstraint('conversation_id', 'tag_id')
    )
    with op.batch_alter_table('conversationtag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversationtag_tag_id'), ['tag_id'], unique=False)

    op.create_table('mention',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('message_id', 'user_id')
    )
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mention_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notes', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35 on) drops a column in place, where batch mode would copy
    # the table, which a store with conversations referring to its contacts refuses.
    op.drop_column('contact', 'notes')

    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mention_user_id'))

    op.drop_table('mention')
    # The older schema knows no private notes: they would show as texts.
    op.execute("DELETE FROM message WHERE direction = 'note'")
    with op.batch_alter_table('conversationtag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversationtag_tag_id'))

    op.drop_table('conversationtag')
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cannedresponse_team_id'))
        batch_op.drop_index(batch_op.f('ix_cannedresponse_owner_id'))

    op.drop_table('cannedresponse')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_team_id'))

    op.drop_table('tag')
