"""TwilioProvider's numbers through the real `twilio` library against the fake: what Twilio
is asked, and how its refusals become inbox errors."""

from __future__ import annotations

import pytest

from inbox.errors import InvalidInputError, NotFoundError, NumberUnavailableError, SmsError
from inbox.providers.base import AvailableNumber, NumberWebhooks
from inbox.providers.twilio import TwilioProvider
from tests.fake_twilio import FakeTwilio
from tests.inbox.conftest import WEBHOOKS


async def test_search_asks_for_sms_capable_local_numbers_in_the_area_code(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    sf = fake.stock("415", 2)
    fake.stock("415", 1, sms=False)  # voice only
    fake.stock("510", 1, locality="Oakland")
    found = await twilio.numbers.search("415", limit=5)
    assert found == [AvailableNumber(n, "San Francisco", "CA") for n in sf]
    (request,) = fake.requests_to("GET", "/AvailablePhoneNumbers/US/Local.json")
    assert request.query == {"AreaCode": ["415"], "SmsEnabled": ["true"], "PageSize": ["5"]}


async def test_search_passes_a_contains_pattern(twilio: TwilioProvider, fake: FakeTwilio) -> None:
    first, second = fake.stock("415", 2)  # ...5550100, ...5550101
    assert [n.phone_number for n in await twilio.numbers.search("415", contains="0101")] == [second]
    assert fake.requests_to("GET", "/Local.json")[0].param("Contains") == "0101"


async def test_an_area_code_with_no_numbers_gives_an_empty_list(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    assert await twilio.numbers.search("212") == []


async def test_a_malformed_area_code_is_refused_before_asking_twilio(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    for bad in ("12", "123", "911", "41a"):
        with pytest.raises(InvalidInputError) as refused:
            await twilio.numbers.search(bad)
        assert refused.value.code == "invalid_area_code"
    assert fake.requests == []


async def test_twilio_s_own_invalid_area_code_is_invalid_input(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail("GET", "/Local.json", 400, 21451, "Invalid area code")  # a list call's refusal
    with pytest.raises(InvalidInputError) as refused:
        await twilio.numbers.search("999")
    assert refused.value.code == "invalid_area_code"


async def test_buying_a_number_sets_its_webhooks(twilio: TwilioProvider, fake: FakeTwilio) -> None:
    (number,) = fake.stock("415", 1)
    owned = await twilio.numbers.buy(WEBHOOKS, phone_number=number, friendly_name="switchboard:7")
    assert (owned.phone_number, owned.friendly_name, owned.webhooks) == (
        number,
        "switchboard:7",
        WEBHOOKS,
    )
    (request,) = fake.requests_to("POST", "/IncomingPhoneNumbers.json")
    assert {k: v[0] for k, v in request.form.items()} == {
        "PhoneNumber": number,
        "SmsUrl": WEBHOOKS.sms_url,
        "SmsMethod": "POST",
        "StatusCallback": WEBHOOKS.status_callback,
        "StatusCallbackMethod": "POST",
        "VoiceUrl": WEBHOOKS.voice_url,
        "VoiceMethod": "POST",
        "FriendlyName": "switchboard:7",
    }
    assert list(fake.owned) == [owned.sid] and number not in fake.available


async def test_buying_any_number_in_an_area_code(twilio: TwilioProvider, fake: FakeTwilio) -> None:
    fake.stock("510", 1)
    stocked = fake.stock("415", 2)
    owned = await twilio.numbers.buy(WEBHOOKS, area_code="415")
    assert owned.phone_number in stocked
    assert fake.requests_to("POST", "/IncomingPhoneNumbers.json")[0].param("AreaCode") == "415"


async def test_a_sold_number_and_an_empty_area_code_are_unavailable(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    (number,) = fake.stock("415", 1)
    await twilio.numbers.buy(WEBHOOKS, phone_number=number)
    with pytest.raises(NumberUnavailableError) as sold:
        await twilio.numbers.buy(WEBHOOKS, phone_number=number)
    assert (sold.value.code, sold.value.phone_number, sold.value.provider_code) == (
        "unavailable",
        number,
        "21422",
    )
    with pytest.raises(NumberUnavailableError) as none_left:
        await twilio.numbers.buy(WEBHOOKS, area_code="415")
    assert (none_left.value.area_code, none_left.value.provider_code) == ("415", "21452")


async def test_updating_a_number_changes_its_webhooks_and_name(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    (number,) = fake.stock("415", 1)
    owned = await twilio.numbers.buy(WEBHOOKS, phone_number=number)
    moved = NumberWebhooks(
        "https://new.example/m", "https://new.example/s", "https://new.example/v"
    )
    updated = await twilio.numbers.update(owned.sid, webhooks=moved, friendly_name="Front Desk")
    assert (updated.webhooks, updated.friendly_name) == (moved, "Front Desk")
    assert fake.owned[owned.sid]["sms_url"] == moved.sms_url
    with pytest.raises(NotFoundError):
        await twilio.numbers.update("PN" + "f" * 32, friendly_name="nobody")


async def test_releasing_a_number_deletes_it_once_and_again_is_no_error(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    (number,) = fake.stock("415", 1)
    owned = await twilio.numbers.buy(WEBHOOKS, phone_number=number)
    await twilio.numbers.release(owned.sid)
    await twilio.numbers.release(owned.sid)  # a retry after a timed-out DELETE
    assert fake.owned == {} and [r["sid"] for r in fake.released] == [owned.sid]
    assert len(fake.requests_to("DELETE", f"/IncomingPhoneNumbers/{owned.sid}.json")) == 2


async def test_a_bought_number_is_found_by_its_number_or_friendly_name(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    """After a timed-out buy, the friendly name we gave it tells whether it went through."""
    (number,) = fake.stock("415", 1)
    assert await twilio.numbers.find_owned(friendly_name="switchboard:9") is None
    owned = await twilio.numbers.buy(WEBHOOKS, area_code="415", friendly_name="switchboard:9")
    assert await twilio.numbers.find_owned(friendly_name="switchboard:9") == owned
    assert await twilio.numbers.find_owned(phone_number=number) == owned


@pytest.mark.parametrize(
    ("status", "code", "retryable"), [(500, 20500, True), (429, 20429, True), (403, 20003, False)]
)
async def test_other_twilio_failures_are_provider_errors(
    twilio: TwilioProvider, fake: FakeTwilio, status: int, code: int, retryable: bool
) -> None:
    (number,) = fake.stock("415", 1)
    fake.fail("POST", "/IncomingPhoneNumbers.json", status, code)
    with pytest.raises(SmsError) as failed:
        await twilio.numbers.buy(WEBHOOKS, phone_number=number)
    assert (failed.value.provider_code, failed.value.retryable) == (str(code), retryable)
    assert failed.value.maybe_done == (status >= 500)
    assert fake.owned == {}
