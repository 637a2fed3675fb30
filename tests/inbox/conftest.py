"""Providers under test: TwilioProvider through the real `twilio` library against the fake,
and the sandbox; plus the business and campaign a registration test submits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from inbox.providers.base import (
    BusinessDetails,
    CampaignDetails,
    NumberWebhooks,
    PostalAddress,
    Representative,
)
from inbox.providers.twilio import TwilioProvider
from tests.fake_twilio import FakeTwilio

# A hang guard for calls that should answer, not a performance check.
TWILIO_TIMEOUT_SECS = 10.0

WEBHOOKS = NumberWebhooks(
    sms_url="https://switchboard.example/webhooks/twilio/messages",
    status_callback="https://switchboard.example/webhooks/twilio/status",
    voice_url="https://switchboard.example/webhooks/twilio/voice",
)
INBOUND_URL = WEBHOOKS.sms_url

BUSINESS = BusinessDetails(
    legal_name="Harbor Property Management LLC",
    business_type="Limited Liability Corporation",
    industry="REAL_ESTATE",
    registration_number="12-3456789",
    website="https://harbor.example",
    email="compliance@harbor.example",
    address=PostalAddress("1 Market St", "San Francisco", "CA", "94105"),
    representative=Representative(
        "Dana", "Reyes", "dana@harbor.example", "+14155550142", "Operations Director"
    ),
)
CAMPAIGN = CampaignDetails(
    use_case="LOW_VOLUME",
    description="Tenants and property managers text about repairs, rent and building notices.",
    sample_messages=(
        "Harbor PM: your repair request #4411 is booked for Tue 9-11am. Reply STOP to opt out.",
        "Harbor PM: rent for May is due on the 1st. Questions? Reply here. Reply STOP to stop.",
    ),
    message_flow="Tenants give their mobile number on the lease form and tick a box to get texts.",
)

MakeTwilio = Callable[..., TwilioProvider]


@pytest.fixture
async def make_twilio(fake_twilio: tuple[FakeTwilio, str]) -> AsyncIterator[MakeTwilio]:
    """A TwilioProvider on the fake (closed after the test)."""
    fake, url = fake_twilio
    made: list[TwilioProvider] = []

    def make(
        timeout_secs: float = TWILIO_TIMEOUT_SECS, primary_customer_profile_sid: str | None = None
    ) -> TwilioProvider:
        provider = TwilioProvider(
            fake.account_sid,
            fake.auth_token,
            api_url=url,
            timeout_secs=timeout_secs,
            primary_customer_profile_sid=primary_customer_profile_sid,
        )
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


@pytest.fixture
def fake(fake_twilio: tuple[FakeTwilio, str]) -> FakeTwilio:
    return fake_twilio[0]


@pytest.fixture
def twilio(make_twilio: MakeTwilio) -> TwilioProvider:
    return make_twilio()
