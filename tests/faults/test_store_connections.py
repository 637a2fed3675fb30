"""The store's connections under faults (docs/deploy.md, "Connections"): a webhook whose
transaction loses its connection (PostgreSQL restarted, failed over, a proxy closed it) is tried
once more and stores its text once; webhooks while the store cannot be reached at all are kept
and stored once it is back; a server that accepts connections but never answers, or a
statement that runs away, fail within their settings instead of hanging /healthz and requests;
the event log's ids go past 32 bits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from inbox.db import WRITE_LOCK_KEY, Database, Pool
from inbox.models import Message, Team
from tests.conftest import STORE, Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK, Agent, login, open_store

POSTGRES_ONLY = pytest.mark.skipif(STORE != "postgres", reason="a PostgreSQL server's behaviour")
WAITING_FOR_THE_WRITE_LOCK = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@POSTGRES_ONLY
async def test_a_webhook_whose_connection_drops_mid_transaction_is_stored_once(
    app_server: Running,
) -> None:
    url = app_server.settings.database_url
    carol = await login(app_server.url, "carol")
    agent = await Agent.connect(app_server.url, cookies=carol.cookies, hello=0)
    await agent.next_event("presence.changed")  # her own coming online: its write is done
    holder = await asyncpg.connect(asyncpg_dsn(url))  # another writer, holding the write lock
    await holder.execute(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})")
    sid = "SM" + "d" * 32
    webhook = asyncio.create_task(app_server.twilio.inbound(FRONT_DESK, "+15559300001", "hi", sid))
    async with asyncio.timeout(EVENT_WAIT_SECS):  # the webhook's transaction queues for it
        while not (waiting := await holder.fetchval(WAITING_FOR_THE_WRITE_LOCK)):
            await asyncio.sleep(0.01)
    # Its connection dies under it, as in a restart of the server.
    assert await holder.fetchval("SELECT pg_terminate_backend($1)", waiting)
    await holder.execute(f"SELECT pg_advisory_unlock({WRITE_LOCK_KEY})")
    await holder.close()
    answer = await webhook
    assert answer.status_code == 200, answer.text
    event = await agent.next_event("message.created")
    assert event["data"]["message"]["body"] == "hi"
    async with open_store(url) as db, db.read() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.provider_sid) == sid))
        ).all()
    assert len(stored) == 1
    await agent.close()


class Cable:
    """A TCP hop between the server and PostgreSQL that the test can cut (every connection
    reset, new ones refused) and mend on the same port: a restart of the store, as the server
    sees it. It runs on a loop of its own: the test's loop blocks while a server starts."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def mend(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(EVENT_WAIT_SECS)

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(EVENT_WAIT_SECS)

    def close(self) -> None:
        if self._listener is not None:
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(EVENT_WAIT_SECS)
        self._loop.close()

    async def _listen(self) -> None:
        self._listener = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._listener.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        assert self._listener is not None
        self._listener.close()
        self._listener = None
        for writer in tuple(self._writers):
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
def cable(database_url: str) -> Iterator[Cable]:
    url = make_url(database_url)
    hop = Cable((url.host or "127.0.0.1", url.port or 5432))
    hop.mend()
    yield hop
    hop.close()


@POSTGRES_ONLY
async def test_webhooks_while_the_store_cannot_be_reached_are_kept_and_stored_once_it_is_back(
    tmp_path: Path,
    database_url: str,
    clean_redis: str,
    fake_twilio: tuple[FakeTwilio, str],
    cable: Cable,
) -> None:
    through = make_url(database_url).set(host="127.0.0.1", port=cable.port)
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=through.render_as_string(hide_password=False),
    ) as server:
        carol = await login(server.url, "carol")
        agent = await Agent.connect(server.url, cookies=carol.cookies, hello=0)
        await agent.next_event("presence.changed")
        cable.cut()  # the store goes away under the pool's connections
        sids = [f"SM{i:032d}" for i in range(3)]
        for i, sid in enumerate(sids):
            answer = await server.twilio.inbound(FRONT_DESK, f"+155593000{i:02d}", f"away {i}", sid)
            assert answer.status_code == 200, answer.text  # 500 before: Twilio would not resend
        cable.mend()
        bodies = set()
        for _ in sids:
            event = await agent.next_event("message.created")
            bodies.add(event["data"]["message"]["body"])
        assert bodies == {"away 0", "away 1", "away 2"}
        await agent.close()
    async with open_store(database_url) as db, db.read() as session:
        counted = await session.scalar(
            select(func.count()).where(col(Message.provider_sid).in_(sids))
        )
    assert counted == len(sids)  # each once
    assert not list((tmp_path / "data" / "spool").glob("*.json"))  # nothing left kept


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a server hung, a firewall)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


async def test_a_store_that_never_answers_fails_within_the_connect_timeout(
    silent_server: int,
) -> None:
    db = Database(
        f"postgresql+asyncpg://sb:pw@127.0.0.1:{silent_server}/sb", Pool(connect_timeout_secs=0.5)
    )
    started = time.monotonic()
    try:
        # asyncpg's own default is 60 s: the hang guard would end this first.
        async with asyncio.timeout(EVENT_WAIT_SECS):
            with pytest.raises((TimeoutError, OSError, DBAPIError)):
                await db.ping()
    finally:
        await db.dispose()
    assert time.monotonic() - started < EVENT_WAIT_SECS


@POSTGRES_ONLY
async def test_a_statement_that_runs_away_is_cut_off(database_url: str) -> None:
    db = Database(database_url, Pool(statement_timeout_secs=0.2))
    try:
        async with asyncio.timeout(EVENT_WAIT_SECS), db.read() as session:
            with pytest.raises(DBAPIError, match="statement timeout"):
                await session.execute(text("SELECT pg_sleep(30)"))
    finally:
        await db.dispose()


async def test_event_ids_go_past_32_bits(app_server: Running) -> None:
    url = app_server.settings.database_url
    past = 2**31 + 10
    async with open_store(url) as db, db.write() as session:
        await session.execute(update(Team).values(last_event_id=past))
    carol = await login(app_server.url, "carol")
    agent = await Agent.connect(app_server.url, cookies=carol.cookies, hello=past)
    answer = await app_server.twilio.inbound(FRONT_DESK, "+15559300002", "a busy team's text")
    assert answer.status_code == 200, answer.text
    event = await agent.next_event("message.created")
    assert event["id"] > past
    again = await Agent.connect(app_server.url, cookies=carol.cookies, hello=past)
    replayed = await again.next_event("message.created")  # and it replays from the log
    assert replayed["id"] == event["id"]
    await agent.close()
    await again.close()
