from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, login

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
AWAY = "We're closed; back at 9am Eastern."


class Clock:
    """A settable clock the server reads instead of the wall clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)


@pytest.fixture
async def clocked(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[tuple[Running, Clock]]:
    clock = Clock(datetime(2026, 11, 20, 16, 0, tzinfo=NEW_YORK))  # a Friday, open
    data_dir = tmp_path / "data"
    with running(
        data_dir, clean_redis, fake_twilio, database_url=database_url, clock=clock
    ) as server:
        yield server, clock


async def test_away_message_once_per_period_across_schedule_boundaries(
    clocked: tuple[Running, Clock],
) -> None:
    running, clock = clocked
    alice, bob = await login(running.url, "alice"), await login(running.url, "bob")
    setting = {
        "enabled": True,
        "message": AWAY,
        "schedule": WEEKDAYS_9_TO_5,
        "timezone": "America/New_York",
    }
    assert (await bob.put("/api/v1/inboxes/1/out-of-office", json=setting)).status_code == 403
    response = await alice.put("/api/v1/inboxes/1/out-of-office", json=setting)
    assert response.status_code == 200, response.text
    assert response.json()["away_now"] is False
    bob_ws = await Agent.connect(running.url, cookies=bob.cookies)
    customer = "+15554440001"

    async def text(body: str) -> None:
        await running.twilio.inbound(FRONT_DESK, customer, body)
        await bob_ws.next_event("message.created", lambda d: d["message"]["body"] == body)

    async def away_replies() -> list[str]:
        conversation = (await bob.get("/api/v1/inboxes/1/conversations")).json()["items"][0]
        history = await bob.get(f"/api/v1/conversations/{conversation['id']}/messages")
        return [m["created_at"] for m in history.json()["items"] if m["automatic"]]

    await text("Friday 4pm: open")  # 16:00 New York is 21:00 UTC: open, no away message
    clock.at = datetime(2026, 11, 20, 17, 30, tzinfo=NEW_YORK)  # Friday evening: away
    await running.twilio.inbound(FRONT_DESK, customer, "Friday evening")
    reply = await bob_ws.next_event("message.created", lambda d: d["message"]["automatic"])
    assert reply["data"]["message"]["body"] == AWAY
    assert reply["data"]["message"]["sender"] is None
    await text("Saturday")  # same away period (until Monday 9am): no second away message
    clock.at = datetime(2026, 11, 22, 23, 0, tzinfo=NEW_YORK)  # Sunday 23:00 (Monday 04:00 UTC)
    await text("Sunday night")
    clock.at = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # Monday 10am: open
    await text("Monday morning")
    clock.at = datetime(2026, 11, 23, 19, 0, tzinfo=NEW_YORK)  # Monday evening: a new period
    await running.twilio.inbound(FRONT_DESK, customer, "Monday evening")
    await bob_ws.next_event("message.created", lambda d: d["message"]["automatic"])

    sent = await asyncio.to_thread(running.fake.wait_for_messages, 2)
    assert [m["body"] for m in sent] == [AWAY, AWAY]
    assert len(await away_replies()) == 2
    assert running.fake.create_calls == 2
    await bob_ws.close()


async def test_switch_and_bad_settings(clocked: tuple[Running, Clock]) -> None:
    running, _ = clocked
    alice = await login(running.url, "alice")
    url = "/api/v1/inboxes/1/out-of-office"
    for bad in (
        {"enabled": True, "message": AWAY, "timezone": "Mars/Olympus"},
        {"enabled": True, "message": AWAY, "schedule": {"mon": [["17:00", "09:00"]]}},
        {"enabled": True, "message": AWAY, "schedule": {"funday": []}},
        {"enabled": True, "message": ""},
        {"enabled": "yes"},
    ):
        response = await alice.put(url, json=bad)
        assert response.status_code == 422, bad
    assert (await alice.get(url)).json()["enabled"] is False  # bad input changed nothing

    on = await alice.put(url, json={"enabled": True, "message": "On holiday"})
    assert on.json()["away_now"] is True
    bob = await login(running.url, "bob")
    bob_ws = await Agent.connect(running.url, cookies=bob.cookies)
    await running.twilio.inbound(FRONT_DESK, "+15554440002", "hello?")
    reply = await bob_ws.next_event("message.created", lambda d: d["message"]["automatic"])
    assert reply["data"]["message"]["body"] == "On holiday"
    off = await alice.put(url, json={"enabled": False})
    assert off.json()["away_now"] is False
    await bob_ws.close()
