"""The `/ws` endpoint: authenticate, register with the bus, and answer client commands
(DESIGN.md, "WebSocket")."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from inbox import accounts
from inbox.errors import InboxError
from realtime.connections import HELLO_WAIT_SECS, Direct, Sink
from realtime.hub import Connection
from server import online
from server.auth import current_user, origin_allowed
from server.commands import HANDLERS, Command, error_frame
from server.errors import ApiError
from server.lock_commands import LOCK_HANDLERS
from server.state import Services, services

logger = logging.getLogger(__name__)
HANDLERS.update(LOCK_HANDLERS)

MAX_FRAME_BYTES = 64 * 1024
# A person types and clicks far below 20 commands a second; a burst of 40 covers a reconnect.
RATE_PER_SEC = 20.0
RATE_BURST = 40.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


RAW_SEND = "switchboard.raw_send"


class RawSend:
    """Outermost middleware: keeps the server's own ASGI `send` of a socket in its scope, so
    event frames skip the per-message wrappers of the middleware stack (the fan-out hot path:
    a send per frame per socket), or, under `switchboard serve`, skip ASGI altogether (see
    `_direct_writer`). Closing and accepting still go through Starlette."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def _text_sink(websocket: WebSocket) -> Sink:
    raw: Send | None = websocket.scope.get(RAW_SEND)
    if raw is None:
        return websocket.send_text
    send: Send = raw

    def sink(text: str) -> Coroutine[Any, Any, None]:
        sending = send({"type": "websocket.send", "text": text})
        return sending if isinstance(sending, Coroutine) else _awaited(sending)

    return sink


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


def _direct_writer(websocket: WebSocket) -> Direct | None:
    """Under uvicorn's `websockets-sansio` protocol (what `switchboard serve` runs), write an
    event's pre-encoded frame straight to the socket's transport: the same bytes for every
    recipient, and none of the per-frame ASGI work (message dict, coroutine, framing) that was
    the largest cost left in the fan-out after the syscall (docs/performance.md). The frame
    goes only where uvicorn's own `send` would write it at once; otherwise the caller queues
    it and the ASGI send finishes it. Any other server gets None and the ASGI path."""
    protocol = getattr(websocket.scope.get(RAW_SEND), "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
        return None  # compression negotiated: frames must go through the protocol
    transport, writable = protocol.transport, protocol.writable

    def write(frame: bytes) -> bool:
        if protocol.close_sent or protocol.disconnected or not writable.is_set():
            return False
        if transport.is_closing():
            return False
        transport.write(frame)
        return True

    return write


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


async def ws_endpoint(websocket: WebSocket) -> None:
    svc = services(websocket)
    user, how = await current_user(websocket)
    if user is None:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return
    if how == "cookie" and not origin_allowed(websocket):
        await websocket.close(CLOSE_FORBIDDEN)
        return
    assert user.id is not None
    await websocket.accept()
    conn = Connection(user.id, user.team_id, set(), svc.settings.send_queue_frames)
    await svc.hub.register(conn)  # held until the first frame: a hello replays before live events
    async with svc.db.read() as session:  # read after registering: later changes arrive as events
        conn.inbox_ids = await accounts.visible_inbox_ids(session, user)
    await online.connected(svc, conn, user)
    conn.sink = _text_sink(websocket)
    conn.direct = _direct_writer(websocket)
    tasks = [
        asyncio.create_task(_write(conn.sink, conn)),
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
        await online.disconnected(svc, conn)
    if conn.closed.is_set():
        try:
            await websocket.close(conn.close_code, conn.close_reason)
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass  # the client is already gone


async def _write(sink: Sink, conn: Connection) -> None:
    """Send what `Connection.send` could not send at once, in order."""
    while True:
        item = await conn.queue.get()
        conn.idle = False
        if isinstance(item, str):
            await sink(item)
        else:
            await item
        if conn.queue.empty():
            conn.idle = True


async def _read(websocket: WebSocket, conn: Connection, svc: Services) -> None:
    timer = asyncio.get_running_loop().call_later(HELLO_WAIT_SECS, conn.release)
    try:
        await _read_frames(websocket, conn, svc)
    finally:
        timer.cancel()


def _resumes(text: str | None) -> bool:
    """Whether a first frame may be a hello with last_event_id (which ends the hold itself)."""
    return text is not None and "hello" in text and "last_event_id" in text


async def _read_frames(websocket: WebSocket, conn: Connection, svc: Services) -> None:
    bucket = _Bucket()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if not conn.started and not _resumes(text):
            conn.release()
        if text is None:
            _refuse(conn, "text_only", "send JSON in text frames")
            continue
        if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
            _refuse(conn, "too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
            continue
        if not bucket.take():
            _refuse(conn, "rate_limited", "too many frames; slow down")
            continue
        try:
            command = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: deeply nested arrays
            _refuse(conn, "invalid_json", "the frame is not JSON")
            continue
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            _refuse(conn, "invalid_command", 'a command is {"type": ..., "data": ...}')
            continue
        online.acted(svc, conn, command["type"])
        try:
            await _handle(command, conn, svc, websocket)
        except WebSocketDisconnect:
            return
        except ApiError as exc:
            conn.reply(error_frame(command.get("ref"), exc.code, exc.message, **exc.extra))
        except InboxError as exc:
            conn.reply(error_frame(command.get("ref"), exc.code, exc.message))
        finally:
            conn.release()  # a no-op once live; ends the hold if a hello was refused


def _refuse(conn: Connection, code: str, message: str) -> None:
    conn.release()  # a refused first frame ends the hold like any other
    conn.reply(error_frame(None, code, message))


async def _handle(command: dict[str, Any], conn: Connection, svc: Services, ws: WebSocket) -> None:
    kind = command["type"]
    raw = command.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if kind == "hello" and "last_event_id" in command:
        data = {**data, "last_event_id": command["last_event_id"]}  # hello carries it on top
    handler = HANDLERS.get(kind)
    if handler is None:
        raise ApiError(422, "unknown_command", f"unknown command {kind!r}")
    await handler(Command(kind, command.get("ref"), data, conn, svc, ws))
