"""Engine and sessions. Writes run one at a time, on either store, and the code relies on it
(a check then an insert, a decision read then written, one lock order): SQLite gets WAL, a busy
timeout and `BEGIN IMMEDIATE`, so concurrent webhooks queue for the write lock instead of
failing with "database is locked"; PostgreSQL gets the same queue from an advisory lock that
each write transaction takes first (`WRITE_LOCK_KEY`)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

# Long enough to ride out a burst of webhooks holding the write lock in turn.
SQLITE_BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_SECS = 1.0  # how often the server copies the write-ahead log into the database file
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# PostgreSQL runs write transactions side by side, where SQLite runs one at a time; each of ours
# takes this transaction-scoped advisory lock first, so they queue as on SQLite, across every
# process. Without it: a reply (team row, then conversation row) deadlocks with a text or an
# assignment (conversation, then team); two first reads of a conversation, or two first texts
# to an unassigned number (the Mailroom), fail on the unique key; two texts both get the away
# message (tests/server/test_races.py). Advisory locks belong to one database, so deployments in
# other databases of the same cluster do not wait for each other. Any fixed 64-bit key of ours.
WRITE_LOCK_KEY = 0x5357_4254_5752_4954  # "SWBTWRIT"
_TAKE_WRITE_LOCK = text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
# A migration may rewrite a large table (0005 widens the event log's ids), and may wait long for
# another process's: no statement limit.
_NO_STATEMENT_TIMEOUT = text("SET LOCAL statement_timeout = 0")


@dataclass(frozen=True)
class Pool:
    """PostgreSQL connections of one process: at most `size` (no overflow, so processes x size
    bounds what the server must allow), each opened within `connect_timeout_secs`, each
    statement cut off after `statement_timeout_secs` (0: never)."""

    size: int = 10
    connect_timeout_secs: float = 5.0
    statement_timeout_secs: float = 30.0


class Database:
    """Two views of one engine: `read()` sessions and `write()` sessions (a write lock up front)."""

    def __init__(self, url: str, pool: Pool = Pool()) -> None:
        self.url = url
        backend = make_url(url).get_backend_name()
        self.is_sqlite = backend == "sqlite"
        self.is_postgres = backend == "postgresql"
        kwargs: dict[str, Any] = {}
        self.sqlite_path = (make_url(url).database or ":memory:") if self.is_sqlite else None
        if self.sqlite_path is not None:
            kwargs["async_creator"] = partial(_connect_sqlite, self.sqlite_path)
        else:
            # A server's connections die under the pool (a restart, a failover, an idle
            # timeout on the way): test each one as it is taken, and reconnect, rather than
            # fail the request that drew it.
            kwargs["pool_pre_ping"] = True
            kwargs |= {"pool_size": pool.size, "max_overflow": 0}
        if self.is_postgres:
            kwargs["connect_args"] = {
                "timeout": pool.connect_timeout_secs,
                "server_settings": {
                    "statement_timeout": str(int(pool.statement_timeout_secs * 1000))
                },
            }
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # One writer at a time on either store (module docstring). Queueing this process's
        # writers here is fair and prompt, and holds one pooled connection: leaving them to
        # SQLite's busy handler makes them sleep and poll, and to PostgreSQL's lock queue makes
        # each hold a connection while it waits (a burst would drain the pool).
        self._write_turn = asyncio.Lock()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on error, the only write
        running on the store meanwhile."""
        session = AsyncSession(self.write_engine, expire_on_commit=False)
        async with self._write_turn, session, session.begin():
            # The lock is held when the block starts (SQLite's BEGIN IMMEDIATE would otherwise
            # wait at the block's first statement): what a block does after waiting for it, the
            # inbound batch taking the texts that came meanwhile, is done holding it.
            if self.is_postgres:
                await session.execute(_TAKE_WRITE_LOCK)
            else:
                await session.connection()
            yield session

    async def ping(self) -> None:
        """Raise unless the store answers a query."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def upgrade(self) -> str | None:
        """Bring the schema to the newest Alembic revision; return the one it was at (None: an
        empty store), as read under the lock."""
        found: list[str | None] = []

        def upgrade(connection: Connection) -> None:
            found.append(_current_revision(connection))
            _upgrade(connection)

        await self.migrate(upgrade)
        return found[0]

    async def migrate(self, run: Callable[[Connection], None]) -> None:
        """Run `run` (Alembic's migrations) on one connection, in one transaction, as the only
        writer of the store: the write lock first (PostgreSQL's advisory lock, SQLite's
        `BEGIN IMMEDIATE`), so processes that migrate at once do it in turn, and the ones after
        the first find nothing left to do."""
        async with self.write_engine.begin() as conn:
            if self.is_postgres:
                # First: waiting for another process's long migration is no runaway statement.
                await conn.execute(_NO_STATEMENT_TIMEOUT)
                await conn.execute(_TAKE_WRITE_LOCK)
            await conn.run_sync(run)

    async def revision(self) -> str | None:
        """The schema's Alembic revision; None for a store never migrated."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revision)

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file (SQLite) on a thread of its own. No
        commit does it (`wal_autocheckpoint=0`): a commit that did waited for the disk syncs
        before its event could go out."""
        if self.sqlite_path is not None:
            await asyncio.to_thread(_checkpoint, self.sqlite_path)

    async def dispose(self) -> None:
        await self.engine.dispose()


def head_revision() -> str:
    """The revision `upgrade` brings a store to."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


class _LoopConnection(aiosqlite.Connection):
    """aiosqlite runs every call on its own thread: three or four thread hops per statement,
    about 0.3 ms of CPU each even for `SELECT 1`, and most of a webhook's cost
    (docs/performance.md). SQLite answers our statements in microseconds, so they run right on
    the event loop instead. `BEGIN IMMEDIATE` may wait, when another process holds the write
    lock: it is tried here without waiting, and only when the lock is taken does it wait on the
    thread, where SQLite's busy handler may sleep. `COMMIT` stays on the thread: inline, it held
    the loop for the log's writes, and the lock round trip's p50 doubled in A/B runs on a busy
    machine (docs/performance.md, "Ingest"); a batch of texts commits once, so the hop costs a
    webhook little. SQLAlchemy awaits each call before the next on a connection, so the thread
    and the loop never use it at once."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        if getattr(fn, "__name__", "") == "commit":
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if not _may_wait(fn, args):
            return fn(*args, **kwargs)
        connection = self._connection
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        finally:
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _may_wait(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    name = getattr(fn, "__name__", "")
    return name == "execute" and bool(args) and str(args[0]).lstrip()[:15].upper() in _WAITING


_WAITING = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


def _checkpoint(path: str) -> None:
    with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as connection:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


async def _connect_sqlite(path: str) -> aiosqlite.Connection:
    connection = _LoopConnection(
        partial(
            sqlite3.connect,
            path,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,  # opened on aiosqlite's thread, used on the loop's too
        ),
        iter_chunk_size=64,
    )
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return await connection


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # the server checkpoints (`checkpoint`)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
