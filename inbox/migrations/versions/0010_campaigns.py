"""campaigns: campaigns and the numbers they use (seed 002), and the team's outgoing allowance
with its monthly counter (seed 003)

Revision ID: 0010_campaigns
Revises: 0009_supervisors
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010_campaigns'
down_revision: str | None = '0009_supervisors'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain columns added in place (0005_admin says why not batch mode). A team from before has
    # no allowance (NULL: unlimited), so nobody's sends stop on upgrade; new teams get 100.
    op.add_column('team', sa.Column('allowance_segments', sa.Integer(), nullable=True))
    op.add_column('team', sa.Column('allowance_when_out', sqlmodel.sql.sqltypes.AutoString(), server_default='overage', nullable=False))
    op.create_table('allowance_usage',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('overage', sa.Integer(), nullable=False),
    sa.Column('warned', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'month')
    )
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('send_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('archive_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('handling', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reply_inbox_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.ForeignKeyConstraint(['reply_inbox_id'], ['inbox.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_campaign_send_at'), 'campaign', ['send_at'], unique=False)
    op.create_index(op.f('ix_campaign_team_id'), 'campaign', ['team_id'], unique=False)
    op.create_table('campaign_number',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('phone_number_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['phone_number_id'], ['phonenumber.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'phone_number_id')
    )
    op.create_index(op.f('ix_campaign_number_phone_number_id'), 'campaign_number', ['phone_number_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_campaign_number_phone_number_id'), table_name='campaign_number')
    op.drop_table('campaign_number')
    op.drop_index(op.f('ix_campaign_team_id'), table_name='campaign')
    op.drop_index(op.f('ix_campaign_send_at'), table_name='campaign')
    op.drop_table('campaign')
    op.drop_table('allowance_usage')
    op.drop_column('team', 'allowance_when_out')
    op.drop_column('team', 'allowance_segments')
