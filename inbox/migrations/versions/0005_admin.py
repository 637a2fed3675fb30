"""admin: disabled users, token expiry, archived inboxes and their unsolicited handling, one
number per inbox, the audit log, one-time links (first-run setup, set-password invitations)

Revision ID: 0005_admin
Revises: 0004_inbox_features
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005_admin'
down_revision: str | None = '0004_inbox_features'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_team_id'), ['team_id'], unique=False)

    op.create_table('one_time_link',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('one_time_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_one_time_link_user_id'), ['user_id'], unique=False)

    # Plain columns added in place: a foreign key would make SQLite rebuild `inbox` (batch
    # mode), dropping a table others reference, which our connections refuse (foreign keys on).
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsolicited_bot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('inboxmember', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsolicited', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('phonenumber', schema=None) as batch_op:
        batch_op.create_index('uq_phonenumber_inbox_id', ['inbox_id'], unique=True)

    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35 on) drops a column in place, where batch mode would copy
    # the table, which a store with rows referring to its users and inboxes refuses.
    op.drop_column('user', 'disabled_at')
    op.drop_column('token', 'expires_at')
    op.drop_index('uq_phonenumber_inbox_id', table_name='phonenumber')
    op.drop_column('inboxmember', 'unsolicited')
    op.drop_column('inbox', 'archived_at')
    op.drop_column('inbox', 'unsolicited_bot_id')
    op.drop_index(op.f('ix_one_time_link_user_id'), table_name='one_time_link')
    op.drop_table('one_time_link')
    op.drop_index(op.f('ix_audit_entry_team_id'), table_name='audit_entry')
    op.drop_table('audit_entry')
