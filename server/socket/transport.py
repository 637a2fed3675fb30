"""How frames reach a socket (README.md, "The bus"; docs/decisions.md, "Performance"): the
server's own ASGI `send` kept past the middleware, the direct write of pre-encoded frames to
uvicorn's transport, and the writer task that takes over when a socket stalls."""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.connections import Connection, Direct, Sink

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


def text_sink(websocket: WebSocket) -> Sink:
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


def direct_writer(websocket: WebSocket) -> Direct | None:
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


async def write_queued(sink: Sink, conn: Connection) -> None:
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
