"""Alembic's environment. `switchboard migrate` (and `serve` on SQLite) pass the connection they
hold the store's write lock on (inbox.db.Database.migrate); `alembic upgrade head` run by hand
from the repo (alembic.ini) has none, so this opens the store the app's settings name and takes
the same lock: processes migrating at once, either way, do it in turn."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import inbox.models  # noqa: F401  (registers the tables)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _from_the_command_line() -> None:
    # The one import of server/ under inbox/ (tests/test_layout.py allows this file only): the
    # command line must migrate the very store `switchboard serve` would use, and only the
    # settings know which (SWITCHBOARD_DATABASE_URL, a platform's DATABASE_URL, or SQLite in
    # the data dir).
    from inbox.db import Database
    from server.config import Settings

    settings = Settings.from_env()
    db = Database(settings.database_url, settings.pool)
    try:
        await db.migrate(run_migrations)
    finally:
        await db.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `switchboard migrate`")
passed = context.config.attributes.get("connection")
if passed is None:
    asyncio.run(_from_the_command_line())
else:
    run_migrations(passed)
