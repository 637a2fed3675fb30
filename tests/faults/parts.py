"""The fault suite's parts (docs/reliability.md), for tests/faults/ and bench/faults.py: a real
`switchboard serve` process that can be signalled and started again on its port, a private
redis-server that can be killed and restarted (the tests' session Redis is shared by every
test), a swarm of bus clients that record what they received, and a texter that posts
Twilio-signed webhooks and notes which were taken."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from inbox.models import Message
from realtime.client import BusClient
from server.embedded_redis import embedded_redis
from tests.helpers import (
    FRONT_DESK,
    LOGIN_WAIT_SECS,
    Twilio,
    free_port,
    open_store,
    wait_until_serving,
)
from tests.server.test_cli import _env

AUTH_TOKEN = "fault-suite-token"
ACCOUNT_SID = "AC" + "0" * 32


class PrivateRedis:
    """A redis-server of this test alone, on a fixed port, that can be killed and started again
    (empty: no persistence, as the embedded one runs)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._running = ExitStack()

    def start(self) -> None:
        self._running.enter_context(embedded_redis(self.data_dir, port=self.port))

    def kill(self) -> None:
        self._running.close()


class App:
    """`switchboard serve --demo` on the private Redis, on one port across restarts."""

    def __init__(
        self, data_dir: Path, database_url: str, redis_url: str, workers: int = 1, **env: str
    ) -> None:
        self.data_dir, self.database_url, self.redis_url = data_dir, database_url, redis_url
        self.workers, self.env = workers, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.twilio = Twilio(AUTH_TOKEN, self.url)

    def start(self) -> None:
        env = _env(self.database_url)
        env |= {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--redis-url", self.redis_url]
        command += ["--public-url", self.url, "--log-level", "warning"]
        command += ["--workers", str(self.workers)]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                command, env=env | self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_serving(self.url, self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    async def stored_inbound(self) -> list[str]:
        """Bodies of the inbound texts in the store, oldest first."""
        async with open_store(self.database_url) as db, db.read() as session:
            query = select(col(Message.body)).where(col(Message.direction) == "inbound")
            return list(await session.scalars(query.order_by(col(Message.id))))


async def session_cookie(url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}) as client:
        response = await client.post(
            "/login",
            data={"username": username, "password": "switchboard"},
            timeout=LOGIN_WAIT_SECS,
        )
        assert response.status_code == 303, response.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


@dataclass
class Listener:
    """A bus client and the message.created events it was given, in order."""

    client: BusClient
    bodies: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    arrived_at: dict[str, float] = field(default_factory=dict)  # body -> monotonic time
    task: asyncio.Task[None] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def listen(self) -> None:
        async for event in self.client.events():
            if event.get("type") == "message.created":
                body = event["data"]["message"]["body"]
                self.bodies.append(body)
                self.ids.append(event["id"])
                self.arrived_at.setdefault(body, time.monotonic())
                self.arrived.set()

    async def until_seen(self, body: str) -> None:
        while body not in self.bodies:
            self.arrived.clear()
            await self.arrived.wait()


@asynccontextmanager
async def listeners(url: str, cookie: str, count: int) -> AsyncIterator[list[Listener]]:
    """`count` bus clients (one user's tabs), connected before this yields."""
    clients = [BusClient(url, cookie=cookie) for _ in range(count)]
    await asyncio.gather(*(c.start() for c in clients))
    # Answered once the server follows the socket's events: nothing after this is missed.
    await asyncio.gather(*(c.command("ping", {}) for c in clients))
    swarm = [Listener(c) for c in clients]
    for listener in swarm:
        listener.task = asyncio.create_task(listener.listen())
    try:
        yield swarm
    finally:
        for listener in swarm:
            assert listener.task is not None
            listener.task.cancel()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


@dataclass
class Texter:
    """Posts numbered inbound texts to Front Desk, one every `every_secs`, until stopped; a text
    counts as taken when its webhook answered 200 (else Twilio would send it again)."""

    twilio: Twilio
    prefix: str
    every_secs: float = 0.02
    taken: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    taken_at: dict[str, float] = field(default_factory=dict)  # body -> monotonic time of the 200
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _posted: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, body: str) -> bool:
        try:
            ok = (await self.twilio.inbound(FRONT_DESK, "+15557300001", body)).status_code == 200
        except httpx.TransportError:
            ok = False
        (self.taken if ok else self.refused).append(body)
        if ok:
            self.taken_at[body] = time.monotonic()
        self._posted.set()
        return ok

    async def until_taken(self, count: int) -> None:
        while len(self.taken) < count:
            self._posted.clear()
            await self._posted.wait()

    async def run(self) -> None:
        n = 0
        while not self._stop.is_set():
            await self.post(f"{self.prefix} {n}")
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every_secs)

    def stop(self) -> None:
        self._stop.set()


def doubled(seen: list[Any]) -> list[Any]:
    return sorted({x for x in seen if seen.count(x) > 1})
