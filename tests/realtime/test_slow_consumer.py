from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, login

# Small buffers on the stalled client's side, a short send queue on the server's, and big
# texts, so a few hundred events overflow it (kernel buffers would otherwise absorb megabytes).
CLIENT_RCVBUF_BYTES = 4096
QUEUE_FRAMES = 4
TEXTS = 40
BODY = "x" * 256_000


async def stalled_client(base_url: str, cookie: str) -> websockets.ClientConnection:
    """A client that reads nothing: tiny receive buffer, and a one-message library buffer."""
    port = int(base_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF_BYTES)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await websockets.connect(
        base_url.replace("http", "ws", 1) + "/ws",
        sock=sock,
        additional_headers={"Cookie": cookie},
        origin=websockets.Origin(base_url),
        max_queue=1,
        compression=None,  # repetitive texts would shrink to nothing and fill no buffer
        max_size=None,
    )


async def test_a_client_that_stops_reading_is_closed_4008_while_others_keep_receiving(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        send_queue_frames=QUEUE_FRAMES,
    ) as server:
        twilio = server.twilio
        bob = await login(server.url, "bob")
        carol = await login(server.url, "carol")
        cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
        stalled = await stalled_client(server.url, cookie)
        await stalled.send('{"type": "hello"}')
        reader = await Agent.connect(server.url, cookies=carol.cookies)
        await reader.send({"type": "hello"})
        for i in range(TEXTS):
            await twilio.inbound(FRONT_DESK, f"+1555800{i % 10:04d}", f"{i} {BODY}")
            event = await reader.next_event("message.created")  # the reader keeps pace
            assert event["data"]["message"]["body"] == f"{i} {BODY}"
        # The stalled client now reads what was buffered for it, then the server's close.
        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                try:
                    await asyncio.wait_for(stalled.recv(), 10)
                except TimeoutError:
                    raise AssertionError(f"got {received}") from None
                received += 1
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        assert 0 < received < TEXTS, received
        await reader.close()
