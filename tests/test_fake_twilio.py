"""The fake answers as Twilio does, read through the real `twilio` library: the Messages
list's filters and pages, and its error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from inbox.providers._twilio_api import RewritingHttpClient
from tests.fake_twilio import FakeTwilio

OURS, THEIRS = "+15005550006", "+14155550123"


@pytest.fixture
async def client(fake_twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Any]:
    fake, url = fake_twilio
    http = RewritingHttpClient(url, 10.0)
    yield Client(fake.account_sid, fake.auth_token, http_client=http)
    await http.close()


async def test_messages_filter_by_date_sent_as_twilio_does(
    client: Any, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake = fake_twilio[0]
    fake.texts_go_out = True
    day = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    old = fake.add_message(THEIRS, OURS, "old", created=day - timedelta(days=2))
    mid = fake.add_message(THEIRS, OURS, "mid", created=day)
    new = fake.add_message(THEIRS, OURS, "new", created=day + timedelta(days=2))
    fake.texts_go_out = False
    queued = fake.add_message(THEIRS, OURS, "queued", created=day)

    async def bodies(**filters: Any) -> list[str]:
        found = await client.messages.list_async(to=THEIRS, from_=OURS, **filters)
        return [m.body for m in found]

    assert await bodies() == ["new", "queued", "mid", "old"]  # of two at once, the later first
    assert await bodies(date_sent_after=day) == ["new", "mid"]  # on or after; queued has none
    assert await bodies(date_sent_before=day) == ["mid", "old"]  # on or before
    assert await bodies(date_sent=day.date().isoformat()) == ["mid"]
    assert await bodies(date_sent_after=day.date().isoformat()) == ["new", "mid"]
    assert {old["sid"], mid["sid"], new["sid"], queued["sid"]} == {m["sid"] for m in fake.messages}


async def test_messages_page_like_twilio(client: Any, fake_twilio: tuple[FakeTwilio, str]) -> None:
    fake = fake_twilio[0]
    for i in range(5):
        fake.add_message(THEIRS, OURS, f"m{i}")
    page = await client.messages.page_async(page_size=2)
    assert [m.body for m in page] == ["m4", "m3"]
    assert page.next_page_url is not None and "PageToken=" in page.next_page_url
    found = await client.messages.list_async(page_size=2)
    assert [m.body for m in found] == ["m4", "m3", "m2", "m1", "m0"]
    assert len(fake.requests_to("GET", "/Messages.json")) == 4  # 1 + 3 pages


async def test_a_failed_resource_answers_twilio_s_error_body(
    client: Any, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake = fake_twilio[0]
    fake.fail("GET", "/a2p/BrandRegistrations", status=429, code=20429, message="Too Many")
    with pytest.raises(TwilioException) as failed:  # a list raises the bare kind
        await client.messaging.v1.brand_registrations.list_async()
    assert '"code":20429' in str(failed.value.args[1])
    assert await client.messaging.v1.brand_registrations.list_async() == []  # once only
