from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import inbox.models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run migrations through inbox.db.Database.upgrade(), which passes a connection."
    )

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
