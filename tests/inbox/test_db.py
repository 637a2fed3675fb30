"""The store's SQLite connection runs statements on the event loop and waits for the write lock
on aiosqlite's thread (inbox/db.py, `_LoopConnection`)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from inbox.db import Database


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
