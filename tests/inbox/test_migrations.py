"""The schema's migrations: the admin revision upgrades a store that has data (nobody disabled,
no inbox archived, every member sharing unsolicited texts, tokens without expiry), and the
migrations build exactly what the models describe."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from inbox import accounts
from inbox.db import MIGRATIONS_DIR, Database
from inbox.models import Inbox, InboxMember, PhoneNumber, Token, User

BEFORE_ADMIN = "0002"


def _upgrade_to(revision: str) -> Any:
    def run(connection: Connection) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    return run


ROWS = [
    "INSERT INTO team (id, name, last_event_id, created_at) VALUES (1, 'Demo', 0, '2026-11-01')",
    'INSERT INTO "user" (id, team_id, username, name, role, password_hash, created_at)'
    " VALUES (1, 1, 'alice', 'Alice', 'admin', 'x', '2026-11-01')",
    'INSERT INTO "user" (id, team_id, username, name, role, created_at)'
    " VALUES (2, 1, 'helper', 'Helper', 'bot', '2026-11-01')",
    "INSERT INTO inbox (id, team_id, name, code, colour, phone_number, registration,"
    " unsolicited, mailroom, help_text, away_enabled, away_message, away_timezone, created_at)"
    " VALUES (1, 1, 'Front Desk', 'front', '#2f6fed', '+15005550006', 'registered', 'bot',"
    " false, '', false, '', 'UTC', '2026-11-01')",
    "INSERT INTO inboxmember (inbox_id, user_id) VALUES (1, 1), (1, 2)",
    "INSERT INTO phonenumber (id, team_id, number, label, inbox_id, created_at)"
    " VALUES (1, 1, '+15005550006', 'Front Desk', 1, '2026-11-01')",
    "INSERT INTO token (id, user_id, token_hash, label, created_at)"
    " VALUES (1, 2, 'abc', 'bot', '2026-11-01')",
]


async def test_the_admin_revision_upgrades_a_store_with_data(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_upgrade_to(BEFORE_ADMIN))
        async with db.write_engine.begin() as conn:
            for statement in ROWS:
                await conn.execute(text(statement))
        await db.upgrade()
        async with db.read() as session:
            alice = await session.get(User, 1)
            assert alice is not None and alice.disabled_at is None and alice.password_hash == "x"
            inbox = await session.get(Inbox, 1)
            assert inbox is not None
            assert (inbox.archived_at, inbox.unsolicited_bot_id) == (None, None)
            assert inbox.unsolicited == "bot" and inbox.phone_number == "+15005550006"
            member = await session.get(InboxMember, (1, 2))
            assert member is not None and member.unsolicited is False
            token = await session.get(Token, 1)
            assert token is not None and token.expires_at is None
            number = await session.get(PhoneNumber, 1)
            assert number is not None and number.inbox_id == 1
            assert await accounts.admin_ids(session, 1) == {1}
    finally:
        await db.dispose()


async def test_the_migrations_build_what_the_models_describe(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        await db.upgrade()

        def differences(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection)
            return list(compare_metadata(context, SQLModel.metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await db.dispose()
