"""How frames reach a socket (README.md, "The bus"; docs/decisions.md, "Performance"): the
server's own ASGI `send` (kept by server/socket/route.py), the direct write of pre-encoded frames to
uvicorn's transport (the connection's writer task takes over when a socket stalls)."""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import Any

from starlette.types import Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.connections import Direct, Sink
from server.socket.route import RAW_SEND


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


def forget_handshake(websocket: WebSocket) -> None:
    """Let go of the upgrade's request and response, which uvicorn's `websockets-sansio`
    protocol keeps for the socket's life but reads only until the upgrade is answered (their
    headers were 2.5 KiB of every idle socket, docs/performance.md). The scope keeps the request's
    headers, for whoever reads them later."""
    protocol = getattr(websocket.scope.get(RAW_SEND), "__self__", None)
    if isinstance(protocol, WebSocketsSansIOProtocol) and protocol.handshake_complete:
        protocol.request = protocol.response = None  # type: ignore[assignment]
