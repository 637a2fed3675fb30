"""Redis killed for 5 s under webhook load, agents connected, then started again empty (README.md,
"The bus"): every webhook is still answered (the store takes the text; the doorbell cannot
ring), the agents' sockets stay up and get every text from the log meanwhile, and after the
restart each has every text the store holds exactly once, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from tests.faults.parts import App, PrivateRedis, Texter, doubled, listeners, session_cookie
from tests.helpers import EVENT_WAIT_SECS

AGENTS = 20
OUTAGE_SECS = 5.0  # the fault itself: how long Redis stays down
TEXTS_AROUND = 10  # texts taken before the outage, and again after the restart


async def test_no_text_is_lost_or_doubled_when_redis_dies_for_5_s_under_load(
    app: App, private_redis: PrivateRedis
) -> None:
    cookie = await session_cookie(app.url, "carol")
    seeded = len(await app.stored_inbound())
    async with listeners(app.url, cookie, AGENTS) as swarm:
        texter = Texter(app.twilio, "load")
        texting = asyncio.create_task(texter.run())
        await texter.until_taken(TEXTS_AROUND)
        private_redis.kill()
        during = len(texter.taken)
        await asyncio.sleep(OUTAGE_SECS)
        taken_while_down = len(texter.taken) - during
        private_redis.start()  # empty
        await texter.until_taken(len(texter.taken) + TEXTS_AROUND)
        texter.stop()
        await texting
        assert await texter.post("the last one")
        stored = (await app.stored_inbound())[seeded:]
        assert texter.refused == []  # every webhook was answered 200, Redis or not
        assert taken_while_down > 0
        assert set(texter.taken) <= set(stored) and doubled(stored) == []
        async with asyncio.timeout(3 * EVENT_WAIT_SECS):
            await asyncio.gather(*(s.until_seen("the last one") for s in swarm))
        for listener in swarm:
            assert listener.client.connects == 1  # the socket stayed up all along
            assert doubled(listener.bodies) == []
            assert [b for b in stored if b not in listener.bodies] == []
            assert listener.bodies == stored
            assert listener.ids == sorted(listener.ids)


async def test_a_campaign_made_while_redis_is_down_is_sent_once_it_is_back(
    app: App, private_redis: PrivateRedis
) -> None:
    """Made with Redis gone: stored (201, scheduled), not sent (who is replying to its
    recipients cannot be read); the scheduler sends it as soon as Redis answers again."""
    cookie = await session_cookie(app.url, "alice")
    headers = {"Origin": app.url, "Cookie": cookie}
    async with httpx.AsyncClient(
        base_url=app.url, headers=headers, timeout=EVENT_WAIT_SECS
    ) as alice:
        rows = (await alice.get("/api/v1/phone-numbers")).json()["items"]
        desk = next(r["id"] for r in rows if r["inbox"] and r["inbox"]["id"] == 1)
        # The demo's customers: their conversations may be held, which only Redis knows.
        listed = (await alice.get("/api/v1/inboxes/1/conversations")).json()["items"]
        customers = [c["counterparty"] for c in listed][:2]
        assert len(customers) == 2
        private_redis.kill()
        made = await alice.post(
            "/api/v1/campaigns",
            json={
                "name": "Boil water notice",
                "inbox_id": 1,
                "number_ids": [desk],
                "body": "Boil water until Friday.",
                "numbers": customers,
                "send_at": "now",
                "archive_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "scheduled"
        private_redis.start()
        async with asyncio.timeout(3 * EVENT_WAIT_SECS):  # the scheduler's next look, Redis back
            while True:
                shown = (await alice.get(f"/api/v1/campaigns/{made.json()['id']}")).json()
                if shown["status"] == "active":
                    break
                await asyncio.sleep(0.2)
        assert (shown["queued"], shown["skipped"]) == (2, 0)
