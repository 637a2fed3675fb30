"""What every provider does alike (STYLE 8: one contract, every backend): the sandbox, and
Twilio through the real library against the fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.errors import NumberUnavailableError
from inbox.providers.base import OutboundText, SmsProvider
from inbox.providers.sandbox import SandboxProvider
from tests.fake_twilio import FakeTwilio
from tests.inbox.conftest import BUSINESS, CAMPAIGN, INBOUND_URL, WEBHOOKS, MakeTwilio

TEXT = OutboundText("+14155550123", "+15005550006", "See you at 9.")


@pytest.fixture(params=["sandbox", "twilio"])
def provider(
    request: pytest.FixtureRequest, make_twilio: MakeTwilio, fake: FakeTwilio
) -> SmsProvider:
    if request.param == "sandbox":
        return SandboxProvider()
    fake.stock("415", 3)  # and nothing in 212, as in the sandbox
    return make_twilio()


async def test_a_number_is_searched_bought_and_released(provider: SmsProvider) -> None:
    offered = await provider.numbers.search("415", limit=3)
    assert offered and all(n.phone_number.startswith("+1415") for n in offered)
    owned = await provider.numbers.buy(WEBHOOKS, phone_number=offered[0].phone_number)
    assert owned.phone_number == offered[0].phone_number and owned.webhooks == WEBHOOKS
    left = {n.phone_number for n in await provider.numbers.search("415", limit=3)}
    assert owned.phone_number not in left
    await provider.numbers.release(owned.sid)
    with pytest.raises(NumberUnavailableError):
        await provider.numbers.buy(WEBHOOKS, phone_number=owned.phone_number)


async def test_an_area_code_with_no_numbers(provider: SmsProvider) -> None:
    assert await provider.numbers.search("212") == []
    with pytest.raises(NumberUnavailableError) as none_left:
        await provider.numbers.buy(WEBHOOKS, area_code="212")
    assert none_left.value.code == "unavailable"


async def test_find_sent_finds_each_of_two_identical_texts_once(provider: SmsProvider) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    first, second = (await provider.send(TEXT)).sid, (await provider.send(TEXT)).sid
    found = await provider.find_sent(TEXT, since)
    assert found is not None and found.sid == first
    found = await provider.find_sent(TEXT, since, exclude={first})
    assert found is not None and found.sid == second
    assert await provider.find_sent(TEXT, since, exclude={first, second}) is None
    other = OutboundText(TEXT.to, TEXT.from_, "Something else.")
    assert await provider.find_sent(other, since) is None


async def test_a_new_registration_is_pending_with_its_numbers(provider: SmsProvider) -> None:
    number = await provider.numbers.buy(WEBHOOKS, area_code="415")
    registration = await provider.registration.start(
        BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL, number_sids=[number.sid]
    )
    status = await provider.registration.check(registration)
    assert (status.state, status.numbers) == ("pending", (number.phone_number,))
