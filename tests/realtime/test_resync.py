from __future__ import annotations

import asyncio
import time
from pathlib import Path

from inbox.db import Database
from inbox.models import EventRecord
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK, Agent, login, open_store


async def test_hello_replays_with_no_gap_or_duplicate_while_texts_keep_arriving(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15556000001", "seen")
    seen = await ws.next_event("message.created")
    await ws.close()
    sent = [f"missed {i}" for i in range(10)]
    for body in sent:
        await app_server.twilio.inbound(FRONT_DESK, "+15556000001", body)

    async def keep_texting() -> None:
        for i in range(20):
            body = f"during {i}"
            sent.append(body)
            await app_server.twilio.inbound(FRONT_DESK, "+15556000001", body)

    texting = asyncio.create_task(keep_texting())
    back = await Agent.connect(app_server.url, cookies=bob.cookies, hello=seen["id"])
    events = [await back.next_event("message.created") for _ in range(30)]
    await texting
    assert [e["data"]["message"]["body"] for e in events] == sent
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)) and ids[0] > seen["id"]
    await back.close()


async def test_hello_with_an_id_never_handed_out_gets_resync_then_live_events(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies, hello=10**9)
    assert await ws.frame() == {"type": "resync"}
    await app_server.twilio.inbound(FRONT_DESK, "+15556000002", "after resync")
    event = await ws.next_event("message.created")
    assert event["data"]["message"]["body"] == "after resync"
    await ws.close()


async def test_hello_older_than_retention_gets_resync(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    retention_days = 1 / 86400  # one second, so the pruner runs every half second
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        event_retention_days=retention_days,
    ) as server:
        twilio = server.twilio
        bob = await login(server.url, "bob")
        ws = await Agent.connect(server.url, cookies=bob.cookies)
        await twilio.inbound(FRONT_DESK, "+15556000003", "soon forgotten")
        first = await ws.next_event("message.created")
        await twilio.inbound(FRONT_DESK, "+15556000003", "also forgotten")
        await ws.next_event("message.created")
        await ws.close()
        # Wait (bounded) for the pruner to delete what bob missed, as the store shows it.
        deadline = time.monotonic() + EVENT_WAIT_SECS
        async with open_store(server.settings.database_url) as db:
            while await _logged(db, first["id"] + 1):
                assert time.monotonic() < deadline, "the pruner never removed the old events"
                await asyncio.sleep(0.05)
        back = await Agent.connect(server.url, cookies=bob.cookies, hello=first["id"])
        assert await back.frame() == {"type": "resync"}
        await back.close()


async def _logged(db: Database, event_id: int) -> bool:
    """Whether the demo team's event log still holds `event_id`."""
    async with db.read() as session:
        return await session.get(EventRecord, (1, event_id)) is not None
