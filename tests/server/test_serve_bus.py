"""`switchboard serve` as an operator runs it, seen from the socket: several worker processes
on the embedded Redis and SQLite, and a stop that tells clients to go elsewhere (1001)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.helpers import FRONT_DESK, Agent, Twilio, free_port, login
from tests.server.test_cli import START_WAIT_SECS, _env

AUTH_TOKEN = "serve-bus-test-token"


class Served:
    def __init__(self, data_dir: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = _env() | {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(self.port)]
            + ["--data-dir", str(data_dir), "--workers", str(workers)]
            + ["--public-url", self.url, "--log-level", "warning"],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_WAIT_SECS
        while True:
            try:
                if httpx.get(self.url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("switchboard serve did not start:\n" + self.log.read_text())
            time.sleep(0.05)


@pytest.fixture(params=[1, 2], ids=["one-process", "two-workers"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data", request.param)
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
