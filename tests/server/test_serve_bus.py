"""`switchboard serve` as an operator runs it, seen from the socket: several worker processes
on the embedded Redis and the test's store, and a stop that tells clients to go elsewhere
(1001)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.helpers import (
    EVENT_WAIT_SECS,
    FRONT_DESK,
    Agent,
    Twilio,
    free_port,
    login,
    wait_until_serving,
)
from tests.server.test_cli import _env

AUTH_TOKEN = "serve-bus-test-token"


class Served:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        redis_url: str | None,
        workers: int,
        **env_extra: str,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = _env(database_url, redis_url) | {
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        }
        env |= env_extra
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(self.port)]
            + ["--data-dir", str(data_dir), "--workers", str(workers)]
            + ["--public-url", self.url, "--log-level", "warning"],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(self.url, self.proc, self.log)


@pytest.fixture(params=[1, 2], ids=["one-process", "two-workers"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, serve_redis: str | None
) -> Iterator[Served]:
    server = Served(tmp_path / "data", database_url, serve_redis, request.param)
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


async def test_serve_delivers_to_every_socket_and_sigterm_closes_them_with_1001(
    served: Served,
) -> None:
    bob = await login(served.url, "bob")
    carol = await login(served.url, "carol")
    # Several sockets, so that with two workers both processes hold some of them.
    agents = [
        await Agent.connect(served.url, cookies=(bob if i % 2 else carol).cookies) for i in range(6)
    ]
    twilio = Twilio(AUTH_TOKEN, served.url)
    for i in range(4):
        assert (await twilio.inbound(FRONT_DESK, "+15559200001", f"text {i}")).status_code == 200
    for agent in agents:
        bodies = [(await agent.next_event("message.created"))["data"]["message"]["body"]]
        bodies += [
            (await agent.next_event("message.created"))["data"]["message"]["body"] for _ in range(3)
        ]
        assert bodies == [f"text {i}" for i in range(4)]
    served.proc.send_signal(signal.SIGTERM)
    for agent in agents:
        with pytest.raises(ConnectionClosed) as closed:
            await agent.frame()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "server shutting down")
    assert served.proc.wait(30) == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _sockets(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets on local `port` in `state` (Linux's /proc/net/tcp: 01
    established, 0A listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _connections_held(port: int, pids: list[int]) -> Counter[int]:
    """How many established TCP connections to `port` each of `pids` holds."""
    inodes = _sockets(port, "01")
    held: Counter[int] = Counter()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                held[pid] += 1
    return held


async def test_two_workers_share_a_burst_of_new_connections(
    tmp_path: Path, database_url: str, serve_redis: str | None
) -> None:
    """Sixteen connections opened at once, as a burst of webhooks opens them: both workers take
    some (with one shared socket, the first worker to wake accepted them all)."""
    served = Served(tmp_path / "data", database_url, serve_redis, 2)
    try:
        async with asyncio.timeout(EVENT_WAIT_SECS):  # serving is one worker up; wait for both
            while len(_sockets(served.port, "0A")) < 2:
                await asyncio.sleep(0.05)
        streams = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", served.port) for _ in range(16))
        )
        for _, writer in streams:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for reader, _ in streams:  # each answered, so each accepted by a worker
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        held = _connections_held(served.port, _children(served.proc.pid))
        assert sum(held.values()) == 16
        assert len(held) == 2, held
        for _, writer in streams:
            writer.close()
    finally:
        served.proc.send_signal(signal.SIGTERM)
        served.proc.wait(30)


async def test_a_worker_killed_is_replaced_on_a_socket_of_its_own(
    tmp_path: Path, database_url: str, serve_redis: str | None
) -> None:
    served = Served(tmp_path / "data", database_url, serve_redis, 2)
    try:
        async with asyncio.timeout(EVENT_WAIT_SECS):
            while len(_sockets(served.port, "0A")) < 2:
                await asyncio.sleep(0.05)
        workers = [p for p in _children(served.proc.pid) if "spawn" in _command(p)]
        os.kill(workers[0], signal.SIGKILL)
        async with asyncio.timeout(EVENT_WAIT_SECS):  # the supervisor starts another, listening
            while True:
                now = [p for p in _children(served.proc.pid) if "spawn" in _command(p)]
                if (
                    workers[0] not in now
                    and len(now) == 2
                    and len(_sockets(served.port, "0A")) == 2
                ):
                    break
                await asyncio.sleep(0.05)
        streams = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", served.port) for _ in range(16))
        )
        for _, writer in streams:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for reader, _ in streams:
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        held = _connections_held(served.port, now)
        assert sum(held.values()) == 16 and len(held) == 2, held
        for _, writer in streams:
            writer.close()
    finally:
        served.proc.send_signal(signal.SIGTERM)
        served.proc.wait(30)


async def test_workers_end_with_a_supervisor_killed_outright(
    tmp_path: Path, database_url: str, serve_redis: str | None
) -> None:
    served = Served(tmp_path / "data", database_url, serve_redis, 2)
    workers = [p for p in _children(served.proc.pid) if "spawn" in _command(p)]
    assert len(workers) == 2
    served.proc.kill()
    served.proc.wait()
    async with asyncio.timeout(EVENT_WAIT_SECS):
        while any(_command(p) for p in workers):
            await asyncio.sleep(0.05)


def _command(pid: int) -> str:
    """The process's command line ("" once it has ended; a zombie's is empty too)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


async def test_a_peer_that_stops_answering_pings_is_dropped_within_the_presence_ttl(
    tmp_path: Path, database_url: str, serve_redis: str | None
) -> None:
    served = Served(tmp_path / "data", database_url, serve_redis, 1, SWITCHBOARD_PRESENCE_TTL="1")
    try:
        bob = await login(served.url, "bob")
        cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
        # A raw socket that completes the upgrade and then never answers anything, as a
        # laptop that went to sleep would.
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {served.url}\r\nCookie: {cookie}\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        assert b" 101 " in status
        # The server pings, gets no pong, and closes the connection: we read to its end.
        async with asyncio.timeout(EVENT_WAIT_SECS):
            while await reader.read(65536):
                pass
        writer.close()
    finally:
        served.proc.kill()
        served.proc.wait()
