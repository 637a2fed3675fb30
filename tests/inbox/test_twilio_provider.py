"""TwilioProvider's texts through the real `twilio` library against the fake: the host
rewrite, every way a create can fail, and what find_sent matches."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from inbox.delivery import attempt
from inbox.errors import SmsError
from inbox.providers._twilio_api import TWILIO_API_URL, RewritingHttpClient
from inbox.providers.base import OutboundText
from inbox.providers.twilio import TwilioProvider
from tests.fake_twilio import (
    FakeTwilio,
    hang,
    reject,
    stall,
    take_then_fail,
    take_then_hang,
    take_then_stall,
)
from tests.inbox.conftest import MakeTwilio

OURS, THEIRS = "+15005550006", "+14155550123"
TEXT = OutboundText(THEIRS, OURS, "Your repair is booked for Tuesday.", "https://sb.example/s?m=7")
# A client timeout far below the fake's stall or hang: the client gives up first.
SHORT_TIMEOUT_SECS = 0.2


def since() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def test_api_url_replaces_the_scheme_and_host_of_every_twilio_api() -> None:
    client = RewritingHttpClient("http://127.0.0.1:8999", 1.0)
    assert client.rewrite("https://messaging.twilio.com/v1/Services?PageSize=2&Page=1") == (
        "http://127.0.0.1:8999/v1/Services?PageSize=2&Page=1"
    )
    assert client.rewrite("https://trusthub.twilio.com/v1/CustomerProfiles/BU1") == (
        "http://127.0.0.1:8999/v1/CustomerProfiles/BU1"
    )
    prefixed = RewritingHttpClient("https://proxy.example/twilio/", 1.0)
    assert prefixed.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json") == (
        "https://proxy.example/twilio/2010-04-01/Accounts/AC1/Messages.json"
    )


def test_the_default_api_url_leaves_each_twilio_host_its_own() -> None:
    client = RewritingHttpClient(TWILIO_API_URL, 1.0)
    url = "https://messaging.twilio.com/v1/a2p/BrandRegistrations"
    assert client.rewrite(url) == url


def test_the_library_does_not_log_requests(twilio: TwilioProvider) -> None:
    # It logs each request's URL and query (numbers in it) at INFO.
    for name in ("twilio.http_client", "twilio.async_http_client"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


async def test_send_hands_twilio_the_text_and_its_status_callback(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    result = await twilio.send(TEXT)
    (request,) = fake.requests_to("POST", "/Messages.json")
    assert (request.param("To"), request.param("From"), request.param("Body")) == (
        THEIRS,
        OURS,
        TEXT.body,
    )
    assert request.param("StatusCallback") == TEXT.status_callback
    assert [m["sid"] for m in fake.messages] == [result.sid]
    assert result.status == "queued"


async def test_an_error_before_taking_stores_nothing_and_can_be_retried(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.script(reject(500), reject(503))
    for status in (500, 503):
        with pytest.raises(SmsError) as failed:
            await twilio.send(TEXT)
        assert failed.value.retryable and failed.value.maybe_done
        assert str(status) in failed.value.message
    assert fake.messages == []
    assert await twilio.find_sent(TEXT, since()) is None
    assert (await twilio.send(TEXT)).sid == fake.messages[0]["sid"]


async def test_an_error_after_taking_leaves_the_text_for_find_sent(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.script(take_then_fail(503))
    with pytest.raises(SmsError) as failed:
        await twilio.send(TEXT)
    assert failed.value.retryable and failed.value.maybe_done
    (taken,) = fake.messages
    found = await twilio.find_sent(TEXT, since())
    assert found is not None and found.sid == taken["sid"]


async def test_a_retry_sends_once_through_a_503_that_took_the_text(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    """Issue 12: the old retry read a 5xx with a Twilio code as 'not taken' and resent (a 503
    after taking, or a 504 from Twilio's edge, sent the text twice). The outbox's attempts: the
    first leaves the text in doubt, the next asks Twilio before sending and adopts it."""
    fake.script(take_then_fail(503))
    first = await attempt(twilio, 7, TEXT, ask_first=False, since=since())
    assert first.sent is None and first.in_doubt and not first.final
    second = await attempt(twilio, 7, TEXT, ask_first=first.in_doubt, since=since())
    (taken,) = fake.messages
    assert second.sent is not None and second.sent.sid == taken["sid"]
    assert fake.create_calls == 1


async def test_an_attempt_that_cannot_ask_twilio_does_not_send_blind(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail("GET", "/Messages.json", 500)
    tried = await attempt(twilio, 7, TEXT, ask_first=True, since=since())
    assert tried.sent is None and tried.in_doubt and not tried.final
    assert fake.create_calls == 0


async def test_an_attempt_refused_for_good_is_final(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.refused[THEIRS] = 21211
    tried = await attempt(twilio, 7, TEXT, ask_first=False, since=since())
    assert tried.final and not tried.in_doubt
    assert tried.error is not None and tried.error.provider_code == "21211"


async def test_a_short_delay_before_taking_is_only_slow(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.script(stall(0.2))  # far under the client's timeout
    result = await twilio.send(TEXT)
    assert [m["sid"] for m in fake.messages] == [result.sid]


async def test_a_timeout_before_taking_stores_nothing(
    make_twilio: MakeTwilio, fake: FakeTwilio
) -> None:
    twilio = make_twilio(timeout_secs=SHORT_TIMEOUT_SECS)
    released = threading.Event()
    fake.script(hang(released))
    with pytest.raises(SmsError) as failed:
        await twilio.send(TEXT)
    assert failed.value.retryable and failed.value.maybe_done  # the client cannot tell
    await asyncio.to_thread(fake.wait_until, lambda f: f.hangups == 1)
    released.set()
    await asyncio.to_thread(fake.wait_until, lambda f: f.abandoned == 1)
    assert fake.messages == []
    assert await twilio.find_sent(TEXT, since()) is None


async def test_a_timeout_after_taking_leaves_the_text_for_find_sent(
    make_twilio: MakeTwilio, fake: FakeTwilio
) -> None:
    twilio = make_twilio(timeout_secs=SHORT_TIMEOUT_SECS)
    fake.script(take_then_stall(1.0))  # the answer comes after the client gave up
    with pytest.raises(SmsError) as failed:
        await twilio.send(TEXT)
    assert failed.value.retryable and failed.value.maybe_done
    (taken,) = fake.messages
    found = await twilio.find_sent(TEXT, since())
    assert found is not None and found.sid == taken["sid"]


async def test_a_hung_create_answers_once_released(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    before, after = threading.Event(), threading.Event()
    fake.script(hang(before), take_then_hang(after))
    first = asyncio.create_task(twilio.send(TEXT))
    await asyncio.to_thread(fake.wait_until, lambda f: f.create_calls == 1)
    assert not first.done() and fake.messages == []
    before.set()
    assert (await first).sid == fake.messages[0]["sid"]
    second = asyncio.create_task(twilio.send(TEXT))
    await asyncio.to_thread(fake.wait_for_messages, 2)
    assert not second.done()
    after.set()
    assert (await second).sid == fake.messages[1]["sid"]


async def test_a_refusal_is_final_and_carries_twilio_s_code(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.refused[THEIRS] = 21610
    with pytest.raises(SmsError) as failed:
        await twilio.send(TEXT)
    assert failed.value.provider_code == "21610"
    assert not failed.value.retryable and not failed.value.maybe_done


async def test_an_unreachable_twilio_is_retryable_and_took_nothing(
    make_twilio: MakeTwilio,
) -> None:
    twilio = TwilioProvider("AC" + "0" * 32, "token", api_url="http://127.0.0.1:9", timeout_secs=5)
    try:
        with pytest.raises(SmsError) as failed:
            await twilio.send(TEXT)
    finally:
        await twilio.close()
    assert failed.value.retryable and not failed.value.maybe_done


async def test_find_sent_matches_the_numbers_the_body_and_the_window(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=1)
    fake.add_message(THEIRS, OURS, TEXT.body, created=long_ago)  # the same words yesterday
    fake.add_message("+14155550999", OURS, TEXT.body)  # to someone else
    fake.add_message(THEIRS, "+15005550007", TEXT.body)  # from our other number
    fake.add_message(OURS, THEIRS, TEXT.body, direction="inbound")  # they said it to us
    fake.add_message(THEIRS, OURS, TEXT.body + "!")
    fake.add_message(THEIRS, OURS, TEXT.body, media=1)  # ours has no picture
    assert await twilio.find_sent(TEXT, since()) is None
    ours = fake.add_message(THEIRS, OURS, TEXT.body)
    found = await twilio.find_sent(TEXT, since())
    assert found is not None and found.sid == ours["sid"]
    assert await twilio.find_sent(TEXT, since(), until=long_ago + timedelta(hours=1)) is None


async def test_find_sent_skips_texts_known_to_be_our_others(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    """The same words twice to the same number are two texts: each is found once."""
    first, second = (await twilio.send(TEXT)).sid, (await twilio.send(TEXT)).sid
    found = await twilio.find_sent(TEXT, since())
    assert found is not None and found.sid == first  # the oldest: texts go in order
    found = await twilio.find_sent(TEXT, since(), exclude={first})
    assert found is not None and found.sid == second
    assert await twilio.find_sent(TEXT, since(), exclude={first, second}) is None


async def test_find_sent_finds_a_text_still_queued(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    """A queued text has no date_sent, so a DateSent filter would hide it."""
    sid = (await twilio.send(TEXT)).sid
    assert fake.messages[0]["sent_at"] is None
    found = await twilio.find_sent(TEXT, since())
    assert found is not None and found.sid == sid
    (listing,) = fake.requests_to("GET", "/Messages.json")
    assert (listing.param("To"), listing.param("From")) == (THEIRS, OURS)
    assert not any(k.startswith("DateSent") for k in listing.query)


async def test_find_sent_follows_twilio_s_pages(twilio: TwilioProvider, fake: FakeTwilio) -> None:
    start = datetime.now(UTC) - timedelta(seconds=30)
    ours = fake.add_message(THEIRS, OURS, TEXT.body, created=start)
    for i in range(110):  # a busy conversation since: newer texts on the first two pages
        fake.add_message(THEIRS, OURS, f"update {i}", created=start + timedelta(seconds=i / 10))
    found = await twilio.find_sent(TEXT, start - timedelta(seconds=1))
    assert found is not None and found.sid == ours["sid"]
    pages = fake.requests_to("GET", "/Messages.json")
    assert [p.param("Page") for p in pages] == [None, "1", "2"]
    assert all(p.param("PageSize") == "50" for p in pages)


async def test_twilio_unreadable_or_failing_on_the_list_is_retryable(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail("GET", "/Messages.json", 503, 20503)
    with pytest.raises(SmsError) as failed:
        await twilio.find_sent(TEXT, since())
    assert failed.value.retryable
