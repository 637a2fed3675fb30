"""Test helpers over real parts: a uvicorn server in a thread, agents on real WebSockets,
and Twilio-signed webhooks."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from sqlalchemy import select
from sqlmodel import SQLModel
from starlette.types import ASGIApp
from twilio.request_validator import RequestValidator

from inbox.db import Database
from realtime.events import server_frame
from server.cli import WS_OPTIONS

DEMO_PASSWORD = "switchboard"
FRONT_DESK = "+15005550006"
BILLING = "+15005550007"
# Upper bound on waiting for an event that should come: a hang guard, not a performance check.
EVENT_WAIT_SECS = 10.0
# A hang guard for a login, not a performance check: the password check runs on one thread at
# niceness 10 (server/passwords.py), which a machine with a run queue of 20 starves for seconds.
LOGIN_WAIT_SECS = 60.0


# A real `switchboard serve` starts in about a second; a loaded machine may take far longer.
SERVE_START_SECS = 60.0


def wait_until_serving(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url` answers /healthz; raise with the server's log if it died or hung."""
    deadline = time.monotonic() + SERVE_START_SECS
    while True:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not start:\n" + log.read_text())
        time.sleep(0.05)


@asynccontextmanager
async def open_store(database_url: str) -> AsyncIterator[Database]:
    """The store of a server under test, opened through the app's own `Database`: tests read
    (and seldom write) it this way on every store, never through SQLite's file."""
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


async def snapshot_store(db: Database, exclude: Collection[str] = ()) -> dict[str, list[Any]]:
    """Every row of every table (but `exclude` and sessions', which reading a page marks used),
    in primary-key order: equal snapshots mean a request changed nothing stored."""
    skipped = {"login_session", *exclude}
    async with db.read() as session:
        return {
            table.name: [
                tuple(row)
                for row in await session.execute(select(table).order_by(*table.primary_key))
            ]
            for table in SQLModel.metadata.sorted_tables
            if table.name not in skipped
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# uvicorn gives connections 5 s to close, then the lifespan's own shutdown has as long again.
STOP_WAIT_SECS = 15.0


class ServerThread:
    """A real uvicorn server on a free port, in a thread of the test process."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
            **WS_OPTIONS,
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(STOP_WAIT_SECS)
        if self.thread.is_alive():  # say what it is stuck on, instead of leaving it running
            stacks = io.StringIO()
            for task in asyncio.all_tasks(self.loop):
                task.print_stack(file=stacks)
            raise RuntimeError(f"test server did not stop; its tasks:\n{stacks.getvalue()}")


@dataclass
class Twilio:
    """Signs requests as Twilio does, for the webhooks of a server at `base_url`."""

    auth_token: str
    base_url: str

    def sign(self, path: str, params: dict[str, str]) -> str:
        return str(
            RequestValidator(self.auth_token).compute_signature(self.base_url + path, params)
        )

    async def post(
        self, path: str, params: dict[str, str], signature: str | None = None
    ) -> httpx.Response:
        headers = {
            "X-Twilio-Signature": signature if signature is not None else self.sign(path, params)
        }
        # A hang guard, not a performance check: a loaded machine answers webhooks slowly.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=EVENT_WAIT_SECS) as client:
            return await client.post(path, data=params, headers=headers)

    async def inbound(
        self, to: str, from_: str, body: str, sid: str | None = None
    ) -> httpx.Response:
        import uuid

        params = {
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        return await self.post("/webhooks/twilio/messages", params)


async def login(base_url: str, username: str, password: str = DEMO_PASSWORD) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, headers={"Origin": base_url})
    response = await client.post(
        "/login", data={"username": username, "password": password}, timeout=LOGIN_WAIT_SECS
    )
    assert response.status_code == 303, response.text
    return client


class Agent:
    """One WebSocket connection, as a browser tab or a bot holds it."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self._ref = 0
        self.received: list[dict[str, Any]] = []  # every frame read, in order

    @classmethod
    async def connect(
        cls,
        base_url: str,
        *,
        cookies: httpx.Cookies | None = None,
        token: str | None = None,
        origin: str | None = None,
        hello: int | None = None,
    ) -> Agent:
        headers: dict[str, str] = {}
        if cookies is not None:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        ws = await websockets.connect(
            base_url.replace("http", "ws", 1) + "/ws",
            additional_headers=headers,
            origin=websockets.Origin(origin or base_url) if cookies is not None else None,
            max_size=None,
            max_queue=None,  # read everything, as a browser does: a close is never stuck behind
        )
        agent = cls(ws)
        if hello is not None:
            await agent.send({"type": "hello", "last_event_id": hello})
        return agent

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def frame(self, timeout: float = EVENT_WAIT_SECS) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        data: dict[str, Any] = json.loads(raw)
        server_frame.validate_python(data)  # every frame must match realtime/events.py
        self.received.append(data)
        return data

    async def reply(self, timeout: float = EVENT_WAIT_SECS) -> dict[str, Any]:
        """The next frame that is not a presence event (those arrive whenever a teammate
        connects or goes idle, between the frames a test is about)."""
        while True:
            frame = await self.frame(timeout)
            if frame.get("type") != "presence.changed":
                return frame

    async def next_event(
        self,
        type: str,
        where: Callable[[dict[str, Any]], bool] = lambda data: True,
        timeout: float = EVENT_WAIT_SECS,
    ) -> dict[str, Any]:
        """The next frame of `type` whose data satisfies `where`, skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout)
                if frame.get("type") == type and where(frame["data"]):
                    return frame

    async def command(self, type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send a command and wait for its ack or error."""
        self._ref += 1
        ref = f"r{self._ref}"
        await self.send({"type": type, "ref": ref, "data": data})
        async with asyncio.timeout(EVENT_WAIT_SECS):
            while True:
                frame = await self.frame()
                if frame.get("ref") == ref:
                    return frame

    async def close(self) -> None:
        await self.ws.close()


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG picture of one colour (browsers draw it; the server sniffs it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
