"""What an idle socket costs the server (docs/performance.md, "Socket fan-out"): one task, the
one uvicorn runs the endpoint in. A writer task exists only while a socket is stalled, and
goes once the client has caught up, with every frame delivered in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.app import create_app
from tests.conftest import Running, make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, ServerThread, Twilio, free_port, login
from tests.realtime.test_slow_consumer import BODY, stalled_client

SETTLE_SECS = 30.0  # a hang guard: how long the server's task count may take to settle
STALLING_TEXTS = 8  # 2 MB of frames: far more than the stalled client's buffers hold


@contextmanager
def counted(
    tmp_path: Path, database_url: str, redis_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> Iterator[tuple[Running, ServerThread]]:
    fake, fake_url = fake_twilio
    port = free_port()
    settings = make_settings(
        tmp_path / "data", redis_url, port, fake, fake_url, database_url=database_url
    )
    with ServerThread(create_app(settings), port) as server:
        yield Running(server.url, settings, Twilio(fake.auth_token, server.url), fake), server


async def _tasks(server: ServerThread) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(count(), server.loop))


async def settled_at(server: ServerThread, expected: int) -> None:
    """Wait until the server runs `expected` tasks (short-lived ones, a presence write say, end)."""
    deadline = time.monotonic() + SETTLE_SECS
    while (now := await _tasks(server)) != expected:
        assert time.monotonic() < deadline, f"the server runs {now} tasks, not {expected}"
        await asyncio.sleep(0.05)


async def live(agents: list[Agent]) -> None:
    for agent in agents:
        await agent.send({"type": "hello"})
        assert (await agent.command("ping", {}))["type"] == "pong"


async def test_an_idle_socket_costs_the_server_one_task(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with counted(tmp_path, database_url, clean_redis, fake_twilio) as (running, server):
        bob = await login(running.url, "bob")
        first = [await Agent.connect(running.url, cookies=bob.cookies) for _ in range(5)]
        await live(first)
        await settled_at(server, base := await _tasks(server))
        more = [await Agent.connect(running.url, cookies=bob.cookies) for _ in range(20)]
        await live(more)
        await settled_at(server, base + 20)
        for agent in first + more:
            await agent.close()


async def test_a_stalled_socket_gets_a_writer_until_it_has_read_everything_in_order(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with counted(tmp_path, database_url, clean_redis, fake_twilio) as (running, server):
        bob = await login(running.url, "bob")
        cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
        stalled = await stalled_client(running.url, cookie)
        await stalled.send('{"type": "hello"}')
        watcher = await Agent.connect(running.url, cookies=bob.cookies)
        await live([watcher])
        await settled_at(server, base := await _tasks(server))
        bodies = [f"{i} {BODY}" for i in range(STALLING_TEXTS)]
        for body in bodies:
            await running.twilio.inbound(FRONT_DESK, "+15558100000", body)
            event = await watcher.next_event("message.created")
            assert event["data"]["message"]["body"] == body
        await settled_at(server, base + 1)  # the stalled socket's writer
        reader, got = Agent(stalled), list[str]()
        while len(got) < STALLING_TEXTS:
            event = await reader.next_event("message.created")
            got.append(event["data"]["message"]["body"])
        assert got == bodies
        await settled_at(server, base)  # caught up: the writer is gone
        await watcher.send({"type": "ping", "ref": "still"})
        assert (await watcher.reply())["ref"] == "still"
        await stalled.close()
        await watcher.close()
