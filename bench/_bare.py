"""The ceiling the benchmark compares us with: a bare `websockets` server that broadcasts one
pre-encoded frame to every socket with `websockets.broadcast()` (no auth, no store, no
Redis). `GET /publish?k=K&size=S` broadcasts a frame of about S bytes carrying `bench-K`.

Run as `python bench/_bare.py PORT [uvloop|asyncio]` (the event loop; default uvloop, the one
`switchboard serve` runs on).
"""

from __future__ import annotations

import asyncio
import http
import json
import resource
import sys
from urllib.parse import parse_qs, urlsplit

import uvloop
from websockets.asyncio.server import Request, Response, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

clients: set[ServerConnection] = set()


def publish(path: str) -> None:
    query = parse_qs(urlsplit(path).query)
    k = int(query["k"][0])
    size = int(query.get("size", ["800"])[0])
    frame = {"id": k, "type": "message.created", "data": {"body": f"bench-{k} "}}
    text = json.dumps(frame)
    frame["data"]["pad"] = "x" * max(0, size - len(text) - 10)
    broadcast(clients, json.dumps(frame))


def process_request(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/publish"):
        publish(request.path)
        return Response(
            http.HTTPStatus.OK, "OK", Headers({"Content-Length": "0", "Connection": "close"}), b""
        )
    if request.path.startswith("/healthz"):
        return Response(
            http.HTTPStatus.OK, "OK", Headers({"Content-Length": "0", "Connection": "close"}), b""
        )
    return None


async def handler(ws: ServerConnection) -> None:
    clients.add(ws)
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass  # the benchmark's agents just drop their sockets at the end
    finally:
        clients.discard(ws)


async def main(port: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=process_request,
        compression=None,
        backlog=2048,
        max_queue=None,
    ):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    if (sys.argv[2] if len(sys.argv) > 2 else "uvloop") == "uvloop":
        uvloop.run(main(int(sys.argv[1])))
    else:
        asyncio.run(main(int(sys.argv[1])))
