"""media: pictures and files of texts (MMS) in their own table

Received media moves out of `message.media_urls` (the provider's URLs, as the webhook gave
them) into `attachment` rows, one per URL, fetched when first viewed; uploads to send are rows
too (docs/decisions.md, "Pictures (MMS)").

Revision ID: 0007_media
Revises: 0006_scale
Create Date: 2026-12-15
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007_media'
down_revision: str | None = '0006_scale'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a received attachment is taken for until its bytes are fetched and sniffed: the old
# rows never kept the provider's content type.
UNKNOWN_TYPE = 'application/octet-stream'


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('remote_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('gone', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['uploader_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_key')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_team_id'), ['team_id'], unique=False)

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, team_id, media_urls, created_at FROM message WHERE media_urls <> '[]'"
    )).all()
    attachment = sa.table(
        'attachment', sa.column('team_id'), sa.column('message_id'), sa.column('position'),
        sa.column('content_type'), sa.column('filename'), sa.column('remote_url'),
        sa.column('gone'), sa.column('created_at'),
    )
    for message_id, team_id, media_urls, created_at in rows:
        urls = json.loads(media_urls or '[]')
        if urls:
            op.bulk_insert(attachment, [
                {'team_id': team_id, 'message_id': message_id, 'position': i,
                 'content_type': UNKNOWN_TYPE, 'filename': '', 'remote_url': url,
                 'gone': False, 'created_at': created_at}
                for i, url in enumerate(urls)
            ])
    # Not in batch mode: SQLite (3.35 on) drops a column in place, where batch mode would copy
    # the table, which the rows referring to messages refuse.
    op.drop_column('message', 'media_urls')


def downgrade() -> None:
    op.add_column('message', sa.Column(
        'media_urls', sqlmodel.sql.sqltypes.AutoString(), server_default='[]', nullable=False
    ))
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT message_id, remote_url FROM attachment"
        " WHERE message_id IS NOT NULL AND remote_url IS NOT NULL ORDER BY message_id, position"
    )).all()
    received: dict[int, list[str]] = {}
    for message_id, url in rows:
        received.setdefault(message_id, []).append(url)
    for message_id, urls in received.items():
        bind.execute(
            sa.text("UPDATE message SET media_urls = :urls WHERE id = :id"),
            {'urls': json.dumps(urls), 'id': message_id},
        )
    # The older schema cannot send media: uploads go (their files stay in the data dir).
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_team_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_created_at'))

    op.drop_table('attachment')
