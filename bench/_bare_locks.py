"""The floor the lock benchmark compares us with: a bare Starlette WebSocket endpoint on the same
uvicorn (websockets-sansio, uvloop) that decides each `lock.acquire` with one `SET NX PX` and each
`lock.release` with one `DEL` on the same Redis through redis-py, answers at once, then sends an
event of about our size to every socket of the agent's inbox. No auth, no store, no event log,
no fences, no presence, no rate limit: the four process wake-ups of a lock round trip
(client, server, Redis, server, client) and the fan-out's load, and nothing of ours.

Run as `python bench/_bare_locks.py PORT REDIS_URL`; an agent of inbox N connects to `/ws/N`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

LOCK_MS = 30_000
PAD = "x" * 120  # our lock events carry the holder, the version and the expiry


def make_app(redis_url: str) -> Starlette:
    redis = aioredis.Redis.from_url(redis_url)
    inboxes: defaultdict[int, set[WebSocket]] = defaultdict(set)
    fanning: set[asyncio.Task[None]] = set()

    async def fan_out(inbox: int, event: str) -> None:
        for ws in list(inboxes[inbox]):
            try:
                await ws.send_text(event)
            except (WebSocketDisconnect, RuntimeError):
                inboxes[inbox].discard(ws)

    async def decide(me: str, kind: str, conversation: int) -> bool:
        key = f"bench:lock:{conversation}"
        if kind == "lock.acquire":
            return bool(await redis.set(key, me, nx=True, px=LOCK_MS))
        await redis.delete(key)
        return True

    async def agent(ws: WebSocket) -> None:
        inbox = int(ws.path_params["inbox"])
        me = str(id(ws))
        await ws.accept()
        inboxes[inbox].add(ws)
        try:
            while True:
                frame = json.loads(await ws.receive_text())
                kind = frame.get("type")
                if kind not in ("lock.acquire", "lock.release"):
                    continue  # hello
                conversation = int(frame["data"]["conversation_id"])
                if not await decide(me, kind, conversation):
                    error = {"code": "locked", "message": "held by another agent"}
                    await ws.send_text(
                        json.dumps({"type": "error", "ref": frame["ref"], "error": error})
                    )
                    continue
                await ws.send_text(json.dumps({"type": "ack", "ref": frame["ref"], "data": {}}))
                event = json.dumps(
                    {"type": kind, "data": {"conversation_id": conversation, "by": me, "pad": PAD}}
                )
                task = asyncio.get_running_loop().create_task(fan_out(inbox, event))
                fanning.add(task)
                task.add_done_callback(fanning.discard)
        except WebSocketDisconnect:
            pass
        finally:
            inboxes[inbox].discard(ws)

    async def healthz(request: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[WebSocketRoute("/ws/{inbox}", agent), Route("/healthz", healthz)])


if __name__ == "__main__":
    port, redis_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        make_app(redis_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        loop="uvloop",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
