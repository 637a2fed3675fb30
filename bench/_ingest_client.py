"""The ingest benchmark's client process: precomputed HTTP requests on keep-alive connections,
a fixed number in flight, on a bare asyncio protocol (uvloop), so the client costs little of the
machine and the server's cost is what gets measured.

Run as `python bench/_ingest_client.py HOST PORT REQUESTS C`: REQUESTS is a file of whole
HTTP/1.1 requests (each prefixed by its length as 8 bytes, big-endian); C connections are opened
and `READY` printed. On a line `GO` on stdin every request is sent, one at a time per
connection (C in flight), and one JSON line is printed: `start` and `end` (`time.monotonic()`,
one clock for every process of the machine), each request's latency in seconds (from its write
to the last byte of its answer read), and the count of each status code.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import time

import uvloop


def read_requests(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    requests, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("!Q", data, at)
        requests.append(data[at + 8 : at + 8 + size])
        at += 8 + size
    return requests


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.answer: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if len(self.buf) < end + 4 + length:
            return
        status = int(head.split(b" ", 2)[1])
        del self.buf[: end + 4 + length]
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(status)

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


async def main(host: str, port: int, path: str, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    requests = read_requests(path)
    conns: list[Connection] = []
    for _ in range(concurrency):
        _, conn = await loop.create_connection(Connection, host, port)
        conns.append(conn)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        return
    latencies = [0.0] * len(requests)
    statuses: dict[int, int] = {}
    todo = iter(range(len(requests)))

    async def drive(conn: Connection) -> None:
        for i in todo:
            t0 = time.monotonic()
            status = await conn.send(requests[i])
            latencies[i] = time.monotonic() - t0
            statuses[status] = statuses.get(status, 0) + 1

    start = time.monotonic()
    await asyncio.gather(*(drive(c) for c in conns))
    end = time.monotonic()
    result = {"start": start, "end": end, "latencies": latencies, "statuses": statuses}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
