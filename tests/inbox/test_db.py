"""The store's connections (inbox/db.py): SQLite's run statements on the event loop and wait
for the write lock on aiosqlite's thread (`_LoopConnection`); PostgreSQL's writes queue on one
advisory lock, and the pool replaces connections the server dropped."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from inbox.db import MIGRATIONS_DIR, Database
from inbox.models import Team
from tests.conftest import STORE
from tests.helpers import EVENT_WAIT_SECS, SERVE_START_SECS

SUBPROCESS_WAIT_SECS = SERVE_START_SECS  # a hang guard: three Pythons loading the app


async def test_a_write_waiting_for_another_writer_leaves_the_event_loop_free(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, say
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE team SET name = name")

    async def write() -> int:
        async with db.write() as session:
            return len((await session.execute(text("SELECT id FROM team"))).all())

    waiting = asyncio.create_task(write())
    ticks = 0
    while ticks < 20:  # the loop keeps turning while the write waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not waiting.done()
    other.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 10) == 0  # an empty store: no team yet
    async with db.read() as session:  # reads run on the loop, in order with the writes
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    other.close()
    await db.dispose()


# A process that loads the app, waits for "go" on its stdin, then migrates the store.
MIGRATE_ON_GO = """
import asyncio, sys
from inbox.db import Database
sys.stdin.readline()
asyncio.run(Database(sys.argv[1]).upgrade())
"""


async def test_processes_starting_at_once_on_an_empty_store_migrate_in_turn(
    empty_database_url: str,
) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE_ON_GO,
            empty_database_url,
            stdin=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for proc in processes:  # all loaded: they start their migrations together
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    async with asyncio.timeout(SUBPROCESS_WAIT_SECS):
        errors = [(await proc.communicate())[1].decode() for proc in processes]
    assert errors == [""] * len(processes)
    assert [proc.returncode for proc in processes] == [0] * len(processes)
    db = Database(empty_database_url)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Team)) == 0
        version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    await db.dispose()


POSTGRES_ONLY = pytest.mark.skipif(STORE != "postgres", reason="a PostgreSQL server's behaviour")


@POSTGRES_ONLY
async def test_writes_of_two_processes_on_postgres_run_one_at_a_time(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)  # two processes, say

    async def write() -> None:
        async with second.write() as session:
            await session.execute(text("SELECT 1"))

    async with first.write() as session:
        await session.execute(text("SELECT 1"))
        waiting = asyncio.create_task(write())
        async with first.read() as looking:  # the second write queues for the advisory lock
            deadline = time.monotonic() + EVENT_WAIT_SECS
            while not await looking.scalar(text(QUEUED_FOR_ADVISORY_LOCK)):
                assert time.monotonic() < deadline, "the second write never queued"
                await asyncio.sleep(0.01)
        assert not waiting.done()
    await asyncio.wait_for(waiting, EVENT_WAIT_SECS)  # and runs once the first commits
    await first.dispose()
    await second.dispose()


QUEUED_FOR_ADVISORY_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@POSTGRES_ONLY
async def test_connections_the_postgres_server_dropped_are_replaced(database_url: str) -> None:
    db, other = Database(database_url), Database(database_url)
    async with db.read() as session:  # leaves a connection in the pool
        assert await session.scalar(text("SELECT 1")) == 1
    async with other.read() as session:  # a restart or an idle timeout, as the pool sees it
        dropped = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert dropped == 1
    async with db.read() as session:
        assert await session.scalar(text("SELECT 1")) == 1
    await db.dispose()
    await other.dispose()
