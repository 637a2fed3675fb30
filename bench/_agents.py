"""The benchmark's client process: many WebSocket connections on a bare asyncio protocol (a
hand-rolled handshake and frame reader, a few microseconds a frame), so the client spends as
little of the machine's CPU as possible and the server's cost is what gets measured.

Run as `python bench/_agents.py URL N [TOKEN]`. Prints `READY`, then for each event number k
(found as `bench-k` in a frame) `DONE k t` once all N connections have it (t is
`time.monotonic()`, one clock for every process of the machine), `SIZE bytes` for the
first frame, `CLOSED code 'reason'` for a close frame and `LOST` for a connection gone. Stops
when stdin closes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import resource
import struct
import sys
import time
from urllib.parse import urlsplit

import uvloop

MARK = re.compile(rb"bench-(\d+)")
CONNECT_CONCURRENCY = 200  # below uvicorn's accept backlog (2048) and the kernel's somaxconn
PONG = 0xA


class Agent(asyncio.Protocol):
    def __init__(self, request: bytes, arrived: dict[int, list[float]], n: int) -> None:
        self.request, self.arrived, self.n = request, arrived, n
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[:end]).split(b"\r\n", 1)[0]
            del self.buf[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(RuntimeError(status.decode()))
                return
            self.upgraded.set_result(None)
            self.send_text(b'{"type":"hello"}')
        self._frames()

    def _frames(self) -> None:
        buf = self.buf
        while len(buf) >= 2:
            opcode, length, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + length:
                return
            payload = bytes(buf[start : start + length])
            del buf[: start + length]
            if opcode == 0x9:  # ping: answer, or the server's keepalive drops us
                self._send(PONG, payload)
            elif opcode == 0x1:
                self._event(payload)
            elif opcode == 0x8:  # the server closes us: say why, for the benchmark's report
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                sys.stdout.write(f"CLOSED {code} {payload[2:].decode(errors='replace')!r}\n")
                sys.stdout.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        sys.stdout.write("LOST\n")
        sys.stdout.flush()

    def _event(self, payload: bytes) -> None:
        match = MARK.search(payload)
        if match is None:
            return
        k = int(match.group(1))
        entry = self.arrived.setdefault(k, [0, 0.0])
        entry[0] += 1
        entry[1] = time.monotonic()
        if k == 0 and entry[0] == 1:
            sys.stdout.write(f"SIZE {len(payload)}\n")
        if entry[0] == self.n:
            sys.stdout.write(f"DONE {k} {entry[1]:.6f}\n")
            sys.stdout.flush()
            del self.arrived[k]

    def send_text(self, text: bytes) -> None:
        self._send(0x1, text)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126 and self.transport is not None
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def upgrade_request(url: str, token: str | None) -> bytes:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def main(url: str, n: int, token: str | None) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    arrived: dict[int, list[float]] = {}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    agents: list[Agent] = []

    async def connect() -> None:
        async with gate:
            agent = Agent(upgrade_request(url, token), arrived, n)
            await loop.create_connection(lambda: agent, parts.hostname, parts.port)
            await agent.upgraded
            agents.append(agent)

    await asyncio.gather(*(connect() for _ in range(n)))
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes our stdin
    for agent in agents:
        if agent.transport is not None:
            agent.transport.abort()


if __name__ == "__main__":
    # uvloop, as `switchboard serve` runs: the client is the instrument, and a cheaper loop
    # leaves more of the 2 cores to the server it measures.
    uvloop.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
