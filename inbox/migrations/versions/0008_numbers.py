"""numbers: the phone-number lifecycle (description, responsible agent, number type, registered
tag, release reason, idle warning), an inbox's last number replacement, and the team's carrier
registration. Numbers of registered inboxes come through registered.

Revision ID: 0008_numbers
Revises: 0007_media
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008_numbers'
down_revision: str | None = '0007_media'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('carrier_registration',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('business', sa.Text(), nullable=False),
    sa.Column('campaign', sa.Text(), nullable=False),
    sa.Column('registration', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('brand_status', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('campaign_status', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id')
    )
    # Plain columns added in place (no foreign keys): see 0005_admin.
    with op.batch_alter_table('phonenumber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('number_type', sqlmodel.sql.sqltypes.AutoString(), server_default='reusable', nullable=False))
        batch_op.add_column(sa.Column('registered', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('release_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('warned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number_replaced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # A registered inbox's number was sending already: it stays able to.
    op.execute(
        "UPDATE phonenumber SET registered = true WHERE released_at IS NULL AND inbox_id IN"
        " (SELECT id FROM inbox WHERE registration = 'registered')"
    )


def downgrade() -> None:
    op.drop_column('inbox', 'number_replaced_at')
    for column in ('warned_at', 'release_reason', 'registered', 'number_type', 'agent_id', 'description'):
        op.drop_column('phonenumber', column)
    op.drop_table('carrier_registration')
