"""The `/ws` endpoint: authenticate, register with the bus, and answer client commands
(DESIGN.md, "WebSocket")."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from inbox import accounts
from inbox.errors import InboxError
from inbox.models import User
from realtime.hub import Connection, ResyncNeededError
from server.auth import current_user, origin_allowed
from server.errors import ApiError
from server.sending import send_text
from server.state import Services, services

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
# A person types and clicks far below 20 commands a second; a burst of 40 covers a reconnect.
RATE_PER_SEC = 20.0
RATE_BURST = 40.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class _Bucket:
    def __init__(self) -> None:
        self.tokens, self.at = RATE_BURST, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.at) * RATE_PER_SEC)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _error(ref: Any, code: str, message: str, **extra: Any) -> str:
    return json.dumps(
        {"type": "error", "ref": ref, "error": {"code": code, "message": message, **extra}}
    )


def _ack(ref: Any, data: dict[str, Any]) -> str:
    return json.dumps({"type": "ack", "ref": ref, "data": data})


async def ws_endpoint(websocket: WebSocket) -> None:
    svc = services(websocket)
    user, how = await current_user(websocket)
    if user is None:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return
    if how == "cookie" and not origin_allowed(websocket):
        await websocket.close(CLOSE_FORBIDDEN)
        return
    async with svc.db.read() as session:
        visible = await accounts.visible_inbox_ids(session, user)
    assert user.id is not None
    await websocket.accept()
    conn = Connection(user_id=user.id, team_id=user.team_id, inbox_ids=visible)
    await svc.hub.register(conn)
    tasks = [
        asyncio.create_task(_write(websocket, conn)),
        asyncio.create_task(_read(websocket, conn, svc)),
        asyncio.create_task(conn.closed.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        svc.hub.unregister(conn)
    if conn.closed.is_set():
        try:
            await websocket.close(conn.close_code, conn.close_reason)
        except (RuntimeError, OSError):
            pass  # the client is already gone


async def _write(websocket: WebSocket, conn: Connection) -> None:
    while True:
        text = await conn.queue.get()
        await websocket.send_text(text)


async def _read(websocket: WebSocket, conn: Connection, svc: Services) -> None:
    bucket = _Bucket()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            conn.send(_error(None, "text_only", "send JSON in text frames"))
            continue
        if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
            conn.send(_error(None, "too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes"))
            continue
        if not bucket.take():
            conn.send(_error(None, "rate_limited", "too many frames; slow down"))
            continue
        try:
            command = json.loads(text)
        except ValueError:
            conn.send(_error(None, "invalid_json", "the frame is not JSON"))
            continue
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            conn.send(_error(None, "invalid_command", 'a command is {"type": ..., "data": ...}'))
            continue
        try:
            await _handle(command, conn, svc, websocket)
        except WebSocketDisconnect:
            return
        except ApiError as exc:
            conn.send(_error(command.get("ref"), exc.code, exc.message, **exc.extra))
        except InboxError as exc:
            conn.send(_error(command.get("ref"), exc.code, exc.message))


async def _handle(command: dict[str, Any], conn: Connection, svc: Services, ws: WebSocket) -> None:
    kind, ref = command["type"], command.get("ref")
    data = command.get("data") if isinstance(command.get("data"), dict) else {}
    if kind == "hello":
        last = command.get("last_event_id", data.get("last_event_id"))
        if last is None:
            return
        if not isinstance(last, int) or last < 0:
            raise ApiError(422, "invalid", "last_event_id must be a whole number")
        try:
            await svc.hub.replay(conn, last)
        except ResyncNeededError:
            conn.send('{"type":"resync"}')
        return
    if kind == "ping":
        conn.send(json.dumps({"type": "pong", "ref": ref}))
        return
    if kind == "message.send":
        conversation_id = data.get("conversation_id")
        if not isinstance(conversation_id, int):
            raise ApiError(422, "invalid", "data.conversation_id must be a number")
        async with svc.db.read() as session:
            user = await session.get(User, conn.user_id)
            assert user is not None
            visible = await accounts.visible_inbox_ids(session, user)
        base = f"{'https' if ws.url.scheme == 'wss' else 'http'}://{ws.headers.get('host', '')}"
        view = await send_text(
            svc, user, conversation_id, visible, data.get("body"), callback_base=base
        )
        conn.send(_ack(ref, {"message": view}))
        return
    raise ApiError(422, "unknown_command", f"unknown command {kind!r}")
