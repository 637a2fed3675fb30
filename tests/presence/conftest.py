from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from tests.conftest import Running, make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import ServerThread, Twilio, free_port

# Generous defaults, so only the tests about timing see prompts and expiries.
CALM = {"lock_ttl": 30.0, "lock_idle_after": 20.0, "lock_grace": 10.0, "presence_ttl": 30.0}

ServerFactory = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def lock_server(
    tmp_path: Path, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> ServerFactory:
    """Start a server with the given lock and presence timings (seconds)."""
    fake, fake_url = fake_twilio

    @asynccontextmanager
    async def start(**timings: float) -> AsyncIterator[Running]:
        port = free_port()
        settings = make_settings(
            tmp_path / "data", clean_redis, port, fake, fake_url, **{**CALM, **timings}
        )
        with ServerThread(create_app(settings), port) as server:
            yield Running(server.url, settings, Twilio(fake.auth_token, server.url), fake)

    return start


async def new_conversation(client: httpx.AsyncClient, number: str, inbox_id: int = 1) -> int:
    response = await client.post("/api/v1/conversations", json={"inbox_id": inbox_id, "to": number})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])
