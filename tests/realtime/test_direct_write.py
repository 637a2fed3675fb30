"""Event frames skip ASGI under the settings `switchboard serve` runs (server/socket/transport.py,
`direct_writer`), and an accepted socket lets go of uvicorn's copy of its upgrade
(`forget_handshake`): checked against the installed uvicorn, so an upgrade that changes its
protocol object falls back loudly here instead of silently in production."""

from __future__ import annotations

import websockets
from starlette.applications import Starlette
from starlette.websockets import WebSocket

from realtime.events import wire_frame
from server.socket.route import RAW_SEND, SocketRoute
from server.socket.transport import direct_writer, forget_handshake
from tests.helpers import ServerThread


async def test_frames_written_to_the_transport_arrive_in_order_with_asgi_sends() -> None:
    found: list[bool] = []

    async def endpoint(websocket: WebSocket) -> bool:
        await websocket.accept()
        protocol = websocket.scope[RAW_SEND].__self__
        assert protocol.request is not None and protocol.response is not None
        forget_handshake(websocket)
        assert (protocol.request, protocol.response) == (None, None)
        direct = direct_writer(websocket)
        found.append(direct is not None)
        if direct is not None:
            assert direct(wire_frame('{"n":1,"text":"caf\u00e9 \u2615"}'))
        await websocket.send_text('{"n":2}')
        if direct is not None:
            assert direct(wire_frame('{"n":3,"pad":"' + "x" * 70_000 + '"}'))  # 64-bit length
        await websocket.receive()
        return True

    app = SocketRoute(Starlette(), endpoint)
    with ServerThread(app) as server:
        async with websockets.connect(server.url.replace("http", "ws", 1) + "/ws") as client:
            assert await client.recv() == '{"n":1,"text":"caf\u00e9 \u2615"}'
            assert await client.recv() == '{"n":2}'
            assert str(await client.recv()).startswith('{"n":3,')
    assert found == [True]
