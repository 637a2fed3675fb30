"""Alembic revisions, on the run's store: a store made by revision 0001 that holds data is
upgraded to the newest schema without losing any of it (and back); the admin revision upgrades
a store that has data (nobody disabled, no inbox archived, every member sharing unsolicited
texts, tokens without expiry); the matters revision lets contacts share a number and goes
back only once none does; and the newest schema is exactly what the models in inbox/models.py
say."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from inbox import accounts, registrations
from inbox.db import MIGRATIONS_DIR, Database
from inbox.models import (
    NEW_TEAM_ALLOWANCE,
    Campaign,
    Conversation,
    Inbox,
    InboxMember,
    Matter,
    Message,
    PhoneNumber,
    Team,
    Token,
    User,
)

FIRST = "0001"
BEFORE_ADMIN = "0004_inbox_features"
ROWS_0001 = [
    "INSERT INTO team (id, name, last_event_id, created_at) VALUES (1, 'Old', 0, '2026-01-01')",
    "INSERT INTO inbox (id, team_id, name, code, colour, registration, unsolicited, mailroom,"
    " help_text, away_enabled, away_message, away_timezone, created_at) VALUES"
    " (1, 1, 'Desk', 'desk', '#000000', 'registered', 'agent', false, '', false, '', 'UTC',"
    " '2026-01-01')",
    "INSERT INTO contact (id, team_id, name, created_at) VALUES (1, 1, 'Ann Lee', '2026-01-01')",
    "INSERT INTO conversation (id, team_id, inbox_id, counterparty, contact_id, status,"
    " read_only, handed_off, lock_fence, created_at) VALUES"
    " (1, 1, 1, '+15550000001', 1, 'open', false, false, 0, '2026-01-01')",
    "INSERT INTO message (id, team_id, inbox_id, conversation_id, direction, body, media_urls,"
    " automatic, status, segments, created_at, updated_at) VALUES"
    " (1, 1, 1, 1, 'inbound', 'hello from before', '[\"https://api.twilio.com/2010-04-01"
    "/Accounts/AC1/Messages/MM1/Media/ME1\"]', false, 'received', 1, '2026-01-01', '2026-01-01')",
]
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def _migrate(connection: Connection, to: str, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(cfg, to)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, SQLModel.metadata))


async def test_a_0001_store_with_data_upgrades_keeping_it_and_downgrades(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    async with db.write_engine.begin() as conn:
        await conn.run_sync(_migrate, FIRST)
        for row in ROWS_0001:
            await conn.execute(text(row))
    await db.upgrade()  # what the server does at start
    async with db.write() as session:
        notes = await session.scalar(text("SELECT notes FROM contact WHERE id = 1"))
        assert notes == ""
        body = await session.scalar(text("SELECT body FROM message WHERE id = 1"))
        assert body == "hello from before"
        # 0007_media: a received picture's URL became its own attachment row, fetched later.
        media = (
            await session.execute(
                text("SELECT message_id, position, remote_url, storage_key, gone FROM attachment")
            )
        ).all()
        assert [tuple(row) for row in media] == [(1, 0, MEDIA_URL, None, False)]
        await session.execute(
            text(
                "INSERT INTO tag (id, team_id, name, colour, created_at)"
                " VALUES (1, 1, 'VIP', '#d97706', '2026-02-01')"
            )
        )
        await session.execute(text("INSERT INTO conversationtag VALUES (1, 1, '2026-02-01')"))
        await session.execute(
            text(
                "INSERT INTO message (id, team_id, inbox_id, conversation_id, direction, body,"
                " automatic, status, segments, created_at, updated_at) VALUES"
                " (2, 1, 1, 1, 'note', 'a private note', false, 'stored', 0, '2026-02-01',"
                " '2026-02-01')"
            )
        )
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
    async with db.write_engine.begin() as conn:
        await conn.run_sync(_migrate, FIRST, True)
    async with db.read() as session:
        bodies = (await session.execute(text("SELECT body FROM message ORDER BY id"))).all()
        assert [b for (b,) in bodies] == ["hello from before"]  # the old schema has no notes
        urls = await session.scalar(text("SELECT media_urls FROM message WHERE id = 1"))
        assert json.loads(urls) == [MEDIA_URL]  # back where 0001 kept it
    await db.upgrade()
    async with db.read() as session:
        assert await session.scalar(text("SELECT count(*) FROM tag")) == 0
        assert await session.scalar(text("SELECT name FROM contact")) == "Ann Lee"
    await db.dispose()


ROWS_BEFORE_ADMIN = [
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
            await conn.run_sync(_migrate, BEFORE_ADMIN)
        async with db.write_engine.begin() as conn:
            for statement in ROWS_BEFORE_ADMIN:
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


BEFORE_NUMBERS = "0005_admin"
ROWS_BEFORE_NUMBERS = [
    "INSERT INTO team (id, name, last_event_id, created_at) VALUES (1, 'Demo', 0, '2026-11-01')",
    "INSERT INTO inbox (id, team_id, name, code, colour, phone_number, registration,"
    " unsolicited, mailroom, help_text, away_enabled, away_message, away_timezone, created_at)"
    " VALUES (1, 1, 'Front Desk', 'front', '#2f6fed', '+15005550006', 'registered', 'agent',"
    " false, '', false, '', 'UTC', '2026-11-01'),"
    " (2, 1, 'Billing', 'billing', '#b7410e', '+15005550007', 'registered', 'agent',"
    " false, '', false, '', 'UTC', '2026-11-01'),"
    " (3, 1, 'New', 'new', '#b7410e', NULL, 'unregistered', 'agent',"
    " false, '', false, '', 'UTC', '2026-11-01')",
    "INSERT INTO phonenumber (id, team_id, number, label, inbox_id, created_at) VALUES"
    " (1, 1, '+15005550006', 'Front Desk', 1, '2026-11-01'),"
    " (2, 1, '+15005550007', 'Billing', 2, '2026-11-01'),"
    " (3, 1, '+15005550008', 'spare', NULL, '2026-11-01')",
]


async def test_the_numbers_revision_keeps_the_demo_numbers_registered_and_assigned(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_NUMBERS)
        async with db.write_engine.begin() as conn:
            for statement in ROWS_BEFORE_NUMBERS:
                await conn.execute(text(statement))
        await db.upgrade()
        async with db.read() as session:
            rows = {n.id: n for n in await session.scalars(select(PhoneNumber))}
            assert [(rows[i].inbox_id, rows[i].registered) for i in (1, 2, 3)] == [
                (1, True),
                (2, True),
                (None, False),  # no inbox: not in any campaign yet
            ]
            assert rows[1].description == "" and rows[1].number_type == "reusable"
            assert rows[1].released_at is None and rows[1].agent_id is None
            inbox = await session.get(Inbox, 1)
            assert inbox is not None and inbox.number_replaced_at is None
            assert await registrations.team_state(session, 1) == "registered"
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_NUMBERS, True)
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM phonenumber")) == 3
    finally:
        await db.dispose()


async def test_the_campaigns_revision_leaves_existing_teams_unlimited_and_downgrades(
    empty_database_url: str,
) -> None:
    """Nobody's sends stop on upgrade: a team from before has no allowance (new teams get
    NEW_TEAM_ALLOWANCE); a campaign stored after it goes with the downgrade."""
    db = Database(empty_database_url)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, "0009_supervisors")
            for statement in ROWS_BEFORE_NUMBERS:
                await conn.execute(text(statement))
        await db.upgrade()
        async with db.write() as session:
            old = await session.get(Team, 1)
            assert old is not None
            assert (old.allowance_segments, old.allowance_when_out) == (None, "overage")
            assert Team(name="New").allowance_segments == NEW_TEAM_ALLOWANCE
            await accounts.create_user(session, 1, "alice", "Alice", "admin", "a long password")
            session.add(
                Campaign(
                    team_id=1, inbox_id=1, name="Old", body="hi", recipients="{}",
                    archive_at=datetime(2027, 1, 1, tzinfo=UTC), reply_inbox_id=1, created_by=1,
                )
            )  # fmt: skip
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, "0009_supervisors", True)
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM team")) == 1
            assert await session.scalar(text("SELECT count(*) FROM phonenumber")) == 3
    finally:
        await db.dispose()


BEFORE_MATTERS = "0010_campaigns"
ROWS_BEFORE_MATTERS = ROWS_0001[:4] + [
    "INSERT INTO message (id, team_id, inbox_id, conversation_id, direction, body, automatic,"
    " bulk, status, segments, created_at, updated_at) VALUES (1, 1, 1, 1, 'inbound',"
    " 'hello from before', false, false, 'received', 1, '2026-01-01', '2026-01-01')",
]


async def test_the_matters_revision_files_nothing_and_goes_back_keeping_the_texts(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_MATTERS)
        async with db.write_engine.begin() as conn:
            for statement in ROWS_BEFORE_MATTERS:
                await conn.execute(text(statement))
        await db.upgrade()
        async with db.write() as session:
            conversation = await session.get(Conversation, 1)
            assert conversation is not None and conversation.matter_id is None
            message = await session.get(Message, 1)
            assert message is not None
            assert (message.routed, message.starts_thread) == (None, False)
            session.add(Matter(id=1, team_id=1, name="Lee lease", client_id=1))
            await session.flush()
            conversation.matter_id = 1
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_MATTERS, True)
        async with db.read() as session:
            assert await session.scalar(text("SELECT body FROM message")) == "hello from before"
            assert await session.scalar(text("SELECT count(*) FROM conversation")) == 1
        await db.upgrade()
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM matter")) == 0
            assert await session.scalar(text("SELECT matter_id FROM conversation")) is None
    finally:
        await db.dispose()


SHARED = "+15550000001"


async def _insert_number(db: Database, row_id: int, contact_id: int) -> None:
    async with db.write_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contactnumber (id, team_id, contact_id, number)"
                f" VALUES ({row_id}, 1, {contact_id}, '{SHARED}')"
            )
        )


async def test_the_matters_revision_lets_contacts_share_a_number_and_goes_back_only_unshared(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_MATTERS)
            for statement in ROWS_BEFORE_MATTERS:
                await conn.execute(text(statement))
        await _insert_number(db, 1, 1)
        await db.upgrade()
        async with db.write_engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO contact (id, team_id, name, notes, created_at)"
                    " VALUES (2, 1, 'Ben Lee', '', '2026-02-01')"
                )
            )
        await _insert_number(db, 2, 2)  # Ann's number is Ben's too now
        with pytest.raises(IntegrityError):
            await _insert_number(db, 3, 2)  # but not twice on Ben
        async with db.read() as session:
            owners = await session.execute(
                text("SELECT contact_id FROM contactnumber ORDER BY contact_id")
            )
            assert [c for (c,) in owners] == [1, 2]
        with pytest.raises(RuntimeError, match="1 phone number"):
            async with db.write_engine.begin() as conn:
                await conn.run_sync(_migrate, BEFORE_MATTERS, True)
        async with db.read() as session:  # refused: nothing changed, nothing lost
            assert await session.scalar(text("SELECT count(*) FROM contactnumber")) == 2
            assert await session.scalar(text("SELECT count(*) FROM matter")) == 0
        async with db.write_engine.begin() as conn:
            await conn.execute(text("DELETE FROM contactnumber WHERE contact_id = 1"))
        async with db.write_engine.begin() as conn:
            await conn.run_sync(_migrate, BEFORE_MATTERS, True)
        with pytest.raises(IntegrityError):  # one contact per number again
            await _insert_number(db, 4, 1)
        await db.upgrade()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()
