"""A2P 10DLC registration through the real `twilio` library against the fake: each resource
Twilio is asked for, each step taken only when the review before it passed."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from inbox.errors import ConflictError, InvalidInputError, RegistrationRejectedError
from inbox.providers.base import Registration
from inbox.providers.twilio import TwilioProvider
from inbox.providers.twilio_registration import (
    A2P_TRUST_PRODUCT_POLICY_SID,
    CUSTOMER_PROFILE_POLICY_SID,
)
from tests.fake_twilio import FakeTwilio
from tests.inbox.conftest import BUSINESS, CAMPAIGN, INBOUND_URL, WEBHOOKS, MakeTwilio


async def bought(twilio: TwilioProvider, fake: FakeTwilio, area_code: str = "415") -> str:
    fake.stock(area_code, 1)
    return (await twilio.numbers.buy(WEBHOOKS, area_code=area_code)).sid


async def started(twilio: TwilioProvider, fake: FakeTwilio) -> Registration:
    number = await bought(twilio, fake)
    return await twilio.registration.start(
        BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL, number_sids=[number]
    )


def end_user(fake: FakeTwilio, kind: str) -> dict[str, object]:
    (request,) = [r for r in fake.requests_to("POST", "/v1/EndUsers") if r.param("Type") == kind]
    return dict(json.loads(request.param("Attributes") or "{}"))


async def test_start_submits_both_profiles_and_makes_the_messaging_service(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    business = end_user(fake, "customer_profile_business_information")
    assert business["business_name"] == BUSINESS.legal_name
    assert business["business_registration_number"] == BUSINESS.registration_number
    assert end_user(fake, "authorized_representative_1")["email"] == "dana@harbor.example"
    assert end_user(fake, "us_a2p_messaging_profile_information") == {"company_type": "private"}
    (address,) = fake.addresses.values()
    assert (address["street"], address["postal_code"]) == ("1 Market St", "94105")

    profile = fake.bundles[registration.customer_profile_sid]
    product = fake.bundles[registration.trust_product_sid]
    assert (profile["policy_sid"], profile["status"]) == (
        CUSTOMER_PROFILE_POLICY_SID,
        "pending-review",
    )
    assert (product["policy_sid"], product["status"]) == (
        A2P_TRUST_PRODUCT_POLICY_SID,
        "pending-review",
    )
    assert len(fake.assignments[registration.customer_profile_sid]) == 3
    assert registration.customer_profile_sid in fake.assignments[registration.trust_product_sid]

    service = fake.services[registration.messaging_service_sid]
    assert service["inbound_request_url"] == INBOUND_URL
    assert service["use_inbound_webhook_on_number"] is True
    assert list(fake.service_numbers[registration.messaging_service_sid]) == list(fake.owned)
    assert fake.brands == {} and registration.brand_sid is None  # not before the review


async def test_check_walks_profiles_brand_and_campaign_to_registered(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    status = await twilio.registration.check(registration)
    assert (status.state, status.registration) == ("pending", registration)
    assert fake.requests_to("POST", "/BrandRegistrations") == []

    fake.review(registration.customer_profile_sid, "twilio-approved")
    fake.review(registration.trust_product_sid, "twilio-approved")
    status = await twilio.registration.check(registration)
    assert (status.state, status.brand_status) == ("pending", "PENDING")
    registration = status.registration
    assert registration.brand_sid is not None
    (brand_request,) = fake.requests_to("POST", "/BrandRegistrations")
    assert brand_request.param("SkipAutomaticSecVet") == "true"  # Low Volume Standard
    assert brand_request.param("CustomerProfileBundleSid") == registration.customer_profile_sid
    assert fake.requests_to("POST", "/Compliance/Usa2p") == []

    fake.review(registration.brand_sid, "APPROVED")
    status = await twilio.registration.check(registration)
    assert (status.state, status.campaign_status) == ("pending", "PENDING")
    registration = status.registration
    (campaign_request,) = fake.requests_to("POST", "/Compliance/Usa2p")
    assert campaign_request.param("UsAppToPersonUsecase") == "LOW_VOLUME"
    assert campaign_request.param("Description") == CAMPAIGN.description
    assert campaign_request.param("MessageFlow") == CAMPAIGN.message_flow
    assert campaign_request.form["MessageSamples"] == list(CAMPAIGN.sample_messages)
    assert campaign_request.param("BrandRegistrationSid") == registration.brand_sid

    assert registration.campaign_sid is not None
    fake.review(registration.campaign_sid, "VERIFIED")
    status = await twilio.registration.check(registration)
    assert (status.state, status.reason, status.campaign_status) == (
        "registered",
        None,
        "VERIFIED",
    )
    assert status.numbers == tuple(n["phone_number"] for n in fake.owned.values())
    assert len(fake.requests_to("POST", "/BrandRegistrations")) == 1
    assert len(fake.requests_to("POST", "/Compliance/Usa2p")) == 1


async def test_a_step_interrupted_before_its_sid_was_stored_is_adopted_not_redone(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    fake.review(registration.customer_profile_sid, "twilio-approved")
    fake.review(registration.trust_product_sid, "twilio-approved")
    first = await twilio.registration.check(registration)
    again = await twilio.registration.check(registration)  # the advanced one was lost
    assert again.registration.brand_sid == first.registration.brand_sid
    assert first.registration.brand_sid is not None
    fake.review(first.registration.brand_sid, "APPROVED")
    campaign = (await twilio.registration.check(first.registration)).registration.campaign_sid
    assert (await twilio.registration.check(first.registration)).registration.campaign_sid == (
        campaign
    )
    assert len(fake.requests_to("POST", "/BrandRegistrations")) == 1
    assert len(fake.requests_to("POST", "/Compliance/Usa2p")) == 1


async def test_a_rejected_profile_fails_with_twilio_s_reason(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    errors = [{"code": 27009, "description": "The EIN does not match the business name."}]
    fake.review(registration.customer_profile_sid, "twilio-rejected", errors)
    status = await twilio.registration.check(registration)
    assert (status.state, status.reason) == ("failed", errors[0]["description"])


async def test_a_failed_brand_or_campaign_fails_with_twilio_s_reason(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    for bundle in (registration.customer_profile_sid, registration.trust_product_sid):
        fake.review(bundle, "twilio-approved")
    registration = (await twilio.registration.check(registration)).registration
    assert registration.brand_sid is not None
    fake.review(registration.brand_sid, "APPROVED")
    registration = (await twilio.registration.check(registration)).registration
    assert registration.campaign_sid is not None
    refusal = {
        "error_code": 30897,
        "fields": ["MESSAGE_FLOW"],
        "url": "https://www.twilio.com/docs/api/errors/30897",
        "description": "The campaign was rejected due to Disallowed Content.",
    }
    fake.review(registration.campaign_sid, "FAILED", [refusal])
    status = await twilio.registration.check(registration)
    assert (status.state, status.reason) == ("failed", refusal["description"])

    brand_failure = {"code": 30794, "description": "The brand's tax ID could not be verified."}
    assert registration.brand_sid is not None
    fake.review(registration.brand_sid, "FAILED", [brand_failure])
    status = await twilio.registration.check(registration)
    assert (status.state, status.reason) == ("failed", brand_failure["description"])


async def test_details_twilio_s_evaluation_refuses_are_rejected_with_its_reasons(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    with pytest.raises(RegistrationRejectedError) as rejected:
        await twilio.registration.start(
            replace(BUSINESS, website=""), CAMPAIGN, inbound_url=INBOUND_URL
        )
    assert rejected.value.code == "registration_rejected"
    assert any("website url" in reason for reason in rejected.value.reasons)
    (profile,) = [b for b in fake.bundles.values()]
    assert profile["status"] == "draft"  # never submitted


async def test_the_account_s_primary_profile_is_assigned_when_configured(
    make_twilio: MakeTwilio, fake: FakeTwilio
) -> None:
    fake.primary_profile_sid = "BU" + "9" * 32
    with pytest.raises(RegistrationRejectedError):
        await make_twilio().registration.start(BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL)
    twilio = make_twilio(primary_customer_profile_sid=fake.primary_profile_sid)
    registration = await twilio.registration.start(BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL)
    assert fake.primary_profile_sid in fake.assignments[registration.customer_profile_sid]


async def test_campaign_details_twilio_would_refuse_are_refused_before_any_call(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    short = replace(CAMPAIGN, description="Texts.", sample_messages=("Only one sample, sorry.",))
    with pytest.raises(InvalidInputError) as refused:
        await twilio.registration.start(BUSINESS, short, inbound_url=INBOUND_URL)
    assert refused.value.code == "invalid_campaign"
    assert "description" in refused.value.message and "sample" in refused.value.message
    assert fake.requests == []


async def test_adding_a_number_twice_is_no_error_but_one_in_another_service_is(
    twilio: TwilioProvider, fake: FakeTwilio
) -> None:
    registration = await started(twilio, fake)
    number = await bought(twilio, fake, "510")
    await twilio.registration.add_number(registration, number)
    await twilio.registration.add_number(registration, number)
    assert number in fake.service_numbers[registration.messaging_service_sid]
    other = await twilio.registration.start(BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL)
    with pytest.raises(ConflictError) as refused:
        await twilio.registration.add_number(other, number)
    assert refused.value.code == "number_in_other_service"
