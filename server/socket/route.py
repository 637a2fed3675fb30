"""How an upgrade to `/ws` reaches the endpoint (docs/performance.md, "Socket fan-out"): ahead
of Starlette's middleware and router, whose coroutine frames and wrappers a socket would
otherwise keep for its whole life (7 KiB of every idle connection). The endpoint does every
check itself (token or session, Origin on cookie upgrades, rate limits, close codes), and the
upgrade gets its request line here, as every request does in server/logs.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.logs import log_request, request_log

SOCKET_PATH = "/ws"
# The server's own ASGI `send` of a socket, for server/socket/transport.py's direct writes.
RAW_SEND = "switchboard.raw_send"

# Answers whether it accepted the upgrade (the request line's 101, else 403).
Endpoint = Callable[[WebSocket], Awaitable[bool]]


class SocketRoute:
    """Outermost middleware: `/ws` goes to `endpoint`, everything else to the app."""

    def __init__(self, app: ASGIApp, endpoint: Endpoint) -> None:
        self.app, self.endpoint = app, endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != SOCKET_PATH:
            await self.app(scope, receive, send)
            return
        scope[RAW_SEND] = send
        started, accepted = time.perf_counter(), False
        try:
            accepted = await self.endpoint(WebSocket(scope, receive, send))
        finally:
            if request_log.isEnabledFor(logging.INFO):
                log_request(scope, 101 if accepted else 403, time.perf_counter() - started)
