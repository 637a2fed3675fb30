"""What an idle socket costs the server (docs/performance.md, "Socket fan-out"): one task, the
one uvicorn runs the endpoint in. A writer task exists only while a socket is stalled, and
goes once the client has caught up, with every frame delivered in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from server.app import create_app
from tests.conftest import Running, make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, ServerThread, Twilio, free_port, login
from tests.realtime.test_slow_consumer import BODY, stalled_client

SETTLE_SECS = 30.0  # a hang guard: how long the server's task count may take to settle
STALLING_TEXTS = 24  # 6 MB of frames: more than the kernel (up to 4 MB send buffer) and the
# stalled client hold
STEADY_SAMPLES = 20  # a second of samples 50 ms apart


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


def _any(task: asyncio.Task[object]) -> bool:
    return True


def _writer(task: asyncio.Task[object]) -> bool:
    """A connection's writer task (realtime/connections.py), there only while it is stalled."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return isinstance(name, str) and name.endswith("._write_queued")


async def _tasks(server: ServerThread, which: Callable[[asyncio.Task[object]], bool] = _any) -> int:
    async def count() -> int:
        return sum(1 for task in asyncio.all_tasks() if which(task))

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(count(), server.loop))


async def settled_at(
    server: ServerThread, expected: int, which: Callable[[asyncio.Task[object]], bool] = _any
) -> None:
    """Wait until the server runs `expected` tasks (short-lived ones, a presence write say, end)."""
    deadline = time.monotonic() + SETTLE_SECS
    while (now := await _tasks(server, which)) != expected:
        assert time.monotonic() < deadline, f"the server runs {now} tasks, not {expected}"
        await asyncio.sleep(0.05)


async def steady(server: ServerThread) -> int:
    """The server's task count once it has stayed the same for a second (no short-lived task)."""
    deadline = time.monotonic() + SETTLE_SECS
    counts = [await _tasks(server)]
    while len(counts) < STEADY_SAMPLES or len(set(counts[-STEADY_SAMPLES:])) > 1:
        assert time.monotonic() < deadline, f"the server's tasks never settled: {counts[-5:]}"
        await asyncio.sleep(0.05)
        counts.append(await _tasks(server))
    return counts[-1]


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
        base = await steady(server)
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
        await settled_at(server, 0, _writer)
        bodies = [f"{i} {BODY}" for i in range(STALLING_TEXTS)]
        for body in bodies:
            await running.twilio.inbound(FRONT_DESK, "+15558100000", body)
            event = await watcher.next_event("message.created")
            assert event["data"]["message"]["body"] == body
        await settled_at(server, 1, _writer)  # the stalled socket's writer
        reader, got = Agent(stalled), list[str]()
        while len(got) < STALLING_TEXTS:
            event = await reader.next_event("message.created")
            got.append(event["data"]["message"]["body"])
        assert got == bodies
        await settled_at(server, 0, _writer)  # caught up: the writer is gone
        await watcher.send({"type": "ping", "ref": "still"})
        assert (await watcher.reply())["ref"] == "still"
        await stalled.close()
        await watcher.close()
