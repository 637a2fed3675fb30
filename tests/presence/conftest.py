from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio

# Generous defaults, so only the tests about timing see prompts and expiries.
CALM = {
    "lock_ttl_secs": 30.0,
    "lock_idle_after_secs": 20.0,
    "lock_grace_secs": 10.0,
    "presence_ttl_secs": 30.0,
}

ServerFactory = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def lock_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> ServerFactory:
    """Start a server with the given lock and presence timings (seconds)."""

    @asynccontextmanager
    async def start(**timings: float) -> AsyncIterator[Running]:
        data_dir, all_timings = tmp_path / "data", {**CALM, **timings}
        with running(
            data_dir, clean_redis, fake_twilio, database_url=database_url, **all_timings
        ) as server:
            yield server

    return start


async def new_conversation(client: httpx.AsyncClient, number: str, inbox_id: int = 1) -> int:
    response = await client.post("/api/v1/conversations", json={"inbox_id": inbox_id, "to": number})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])
