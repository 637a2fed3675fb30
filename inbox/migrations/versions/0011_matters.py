"""matters: a team's client/matters, conversations filed under them, with each inbound text
why it landed where it did and whether it starts a new thread, and a number shared by several
contacts of a team (unique per contact instead of per team)

Revision ID: 0011_matters
Revises: 0010_campaigns
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# 0001 made contactnumber's UNIQUE(team_id, number) without a name: PostgreSQL named it this,
# SQLite not at all, so batch mode names the one it reflects the same way to drop it.
TEAM_NUMBER_UNIQUE = 'contactnumber_team_id_number_key'
NAMES = {'uq': '%(table_name)s_%(column_0_N_name)s_key'}


revision: str = '0011_matters'
down_revision: str | None = '0010_campaigns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('matter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_matter_client_id'), 'matter', ['client_id'], unique=False)
    op.create_index(op.f('ix_matter_team_id'), 'matter', ['team_id'], unique=False)
    # Plain columns added in place, no foreign key (0005_admin says why not batch mode).
    op.add_column('conversation', sa.Column('matter_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_conversation_matter_id'), 'conversation', ['matter_id'], unique=False)
    op.add_column('message', sa.Column('routed', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('message', sa.Column('starts_thread', sa.Boolean(), server_default=sa.false(), nullable=False))
    # SQLite rebuilds contactnumber here (batch mode); no table refers to it.
    with op.batch_alter_table('contactnumber', naming_convention=NAMES) as batch_op:
        batch_op.drop_constraint(TEAM_NUMBER_UNIQUE, type_='unique')
        batch_op.create_unique_constraint('uq_contactnumber_contact_id_number', ['contact_id', 'number'])
        batch_op.create_index('ix_contactnumber_team_id_number', ['team_id', 'number'], unique=False)


def downgrade() -> None:
    # The old schema keeps a number to one contact: refuse rather than choose whose to delete.
    shared = op.get_bind().execute(sa.text(
        'SELECT count(*) FROM (SELECT 1 FROM contactnumber GROUP BY team_id, number'
        ' HAVING count(*) > 1) AS shared'
    )).scalar()
    if shared:
        raise RuntimeError(
            f'{shared} phone number(s) belong to several contacts of a team, which revision'
            ' 0010_campaigns cannot store: remove each from all but one contact, then downgrade'
        )
    with op.batch_alter_table('contactnumber', naming_convention=NAMES) as batch_op:
        batch_op.drop_index('ix_contactnumber_team_id_number')
        batch_op.drop_constraint('uq_contactnumber_contact_id_number', type_='unique')
        batch_op.create_unique_constraint(TEAM_NUMBER_UNIQUE, ['team_id', 'number'])
    op.drop_column('message', 'starts_thread')
    op.drop_column('message', 'routed')
    op.drop_index(op.f('ix_conversation_matter_id'), table_name='conversation')
    op.drop_column('conversation', 'matter_id')
    op.drop_index(op.f('ix_matter_team_id'), table_name='matter')
    op.drop_index(op.f('ix_matter_client_id'), table_name='matter')
    op.drop_table('matter')
