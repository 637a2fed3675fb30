"""A2P 10DLC registration through Twilio's resources, in the order of Twilio's Standard and
Low-Volume Standard brand guide: a TrustHub customer profile (business, representative,
address) and A2P trust product, both evaluated and submitted; a Messaging Service holding the
numbers; once both profiles are approved, a Low Volume Standard BrandRegistration; once the
brand is approved, the campaign (UsAppToPerson). `check` takes each later step when the one
before it passed, adopting a brand or campaign an interrupted earlier step already made."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from inbox.errors import ConflictError, InboxError, NotFoundError, RegistrationRejectedError
from inbox.providers._helpers import check_campaign
from inbox.providers._twilio_api import ErrorFactory, TwilioApi
from inbox.providers.base import (
    BusinessDetails,
    CampaignDetails,
    Registration,
    RegistrationState,
    RegistrationStatus,
)

# TrustHub policies (Twilio's registration guides name them): the business ("secondary
# customer") profile, and the A2P messaging profile for a local business.
CUSTOMER_PROFILE_POLICY_SID = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
A2P_TRUST_PRODUCT_POLICY_SID = "RNb0d4771c2c98518d916a3d4cd70a8f8b"
FRIENDLY_NAME_MAX_CHARS = 64

BUNDLE_APPROVED, BUNDLE_REJECTED = "twilio-approved", "twilio-rejected"
BRAND_FAILED = {"FAILED", "SUSPENDED", "DELETION_PENDING", "DELETION_FAILED"}
CAMPAIGN_FAILED = {"FAILED", "SUSPENDED"}

NUMBER_ALREADY_IN_SERVICE = 21710
NUMBER_IN_OTHER_SERVICE = 21712
NUMBER_POOL_FULL = 21714  # a Messaging Service holds at most 400 numbers
NOT_FOUND = 20404


class _AlreadyInServiceError(InboxError):
    """Adding a number twice: the first add did it."""


_ADD_NUMBER_ERRORS: Mapping[int, ErrorFactory] = {
    NUMBER_ALREADY_IN_SERVICE: lambda exc: _AlreadyInServiceError(exc.msg),
    NUMBER_IN_OTHER_SERVICE: lambda exc: ConflictError(exc.msg, "number_in_other_service"),
    NUMBER_POOL_FULL: lambda exc: ConflictError(exc.msg, "number_pool_full"),
    NOT_FOUND: lambda exc: NotFoundError("Twilio has no such number"),
}


def _name(*parts: str) -> str:
    return " ".join(parts)[:FRIENDLY_NAME_MAX_CHARS]


def _reasons(errors: Any) -> str | None:
    """Twilio's `errors` lists (brand, campaign, bundles) as one sentence for the admin."""
    if not errors:
        return None
    words = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            text = error.get("description") or error.get("failure_reason") or error.get("message")
            words.append(str(text or error))
        else:
            words.append(str(error))
    return "; ".join(words)


def _failed_checks(evaluation: Any) -> tuple[str, ...]:
    reasons = []
    for requirement in evaluation.results or []:
        if requirement.get("passed"):
            continue
        reasons.append(requirement.get("failure_reason") or requirement.get("friendly_name"))
        reasons += [field["failure_reason"] for field in requirement.get("invalid") or []]
    return tuple(str(r) for r in reasons if r)


class TwilioRegistration:
    def __init__(self, api: TwilioApi, *, primary_customer_profile_sid: str | None) -> None:
        self._api = api
        # The account's own approved profile, assigned to each new one (Twilio requires it).
        self._primary = primary_customer_profile_sid

    async def start(
        self,
        business: BusinessDetails,
        campaign: CampaignDetails,
        *,
        inbound_url: str,
        number_sids: Collection[str] = (),
    ) -> Registration:
        check_campaign(campaign)
        trusthub = self._api.client.trusthub.v1
        async with self._api.calling("creating the business profile"):
            profile = await trusthub.customer_profiles.create_async(
                friendly_name=_name(business.legal_name, "business profile"),
                email=business.email,
                policy_sid=CUSTOMER_PROFILE_POLICY_SID,
            )
        entities = [
            await self._end_user(
                "customer_profile_business_information",
                _name(business.legal_name, "business information"),
                {
                    "business_name": business.legal_name,
                    "business_type": business.business_type,
                    "business_industry": business.industry,
                    "business_registration_identifier": business.registration_id_type,
                    "business_registration_number": business.registration_number,
                    "business_identity": "direct_customer",
                    "business_regions_of_operation": "USA_AND_CANADA",
                    "website_url": business.website,
                },
            ),
            await self._end_user(
                "authorized_representative_1",
                _name(business.legal_name, "representative"),
                {
                    "first_name": business.representative.first_name,
                    "last_name": business.representative.last_name,
                    "email": business.representative.email,
                    "phone_number": business.representative.phone_number,
                    "business_title": business.representative.title,
                    "job_position": business.representative.position,
                },
            ),
            await self._address_document(business),
        ]
        if self._primary:
            entities.append(self._primary)
        bundle = trusthub.customer_profiles(profile.sid)
        for sid in entities:
            async with self._api.calling("assigning to the business profile"):
                await bundle.customer_profiles_entity_assignments.create_async(object_sid=sid)
        async with self._api.calling("evaluating the business profile"):
            evaluation = await bundle.customer_profiles_evaluations.create_async(
                policy_sid=CUSTOMER_PROFILE_POLICY_SID
            )
        self._require_compliant(evaluation, "the business profile")
        async with self._api.calling("submitting the business profile"):
            await bundle.update_async(status="pending-review")

        trust_product_sid = await self._trust_product(business, profile.sid)
        async with self._api.calling("creating the messaging service"):
            service = await self._api.client.messaging.v1.services.create_async(
                friendly_name=_name(business.legal_name, "Switchboard"),
                inbound_request_url=inbound_url,
                inbound_method="POST",
                use_inbound_webhook_on_number=True,  # each number's own webhook stays in charge
            )
        registration = Registration(
            customer_profile_sid=profile.sid,
            trust_product_sid=trust_product_sid,
            messaging_service_sid=service.sid,
            campaign=campaign,
            started_at=datetime.now(UTC),
        )
        for number_sid in number_sids:
            await self.add_number(registration, number_sid)
        return registration

    async def check(self, registration: Registration) -> RegistrationStatus:
        state: RegistrationState = "pending"
        reason = brand_status = campaign_status = None
        if registration.brand_sid is None:
            approved, reason = await self._profiles_review(registration)
            if reason is not None:
                state = "failed"
            elif approved:  # on to the brand
                registration = replace(registration, brand_sid=await self._brand(registration))
        if registration.brand_sid is not None:
            async with self._api.calling("reading the brand"):
                brand = await self._api.client.messaging.v1.brand_registrations(
                    registration.brand_sid
                ).fetch_async()
            brand_status = brand.status
            if brand.status in BRAND_FAILED:
                state, reason = "failed", _reasons(brand.errors) or brand.failure_reason
            elif brand.status == "APPROVED":
                if registration.campaign_sid is None:
                    registration = replace(
                        registration, campaign_sid=await self._campaign(registration)
                    )
                campaign_status, errors = await self._campaign_status(registration)
                if campaign_status == "VERIFIED":
                    state = "registered"
                elif campaign_status in CAMPAIGN_FAILED:
                    state, reason = "failed", _reasons(errors)
        return RegistrationStatus(
            state,
            registration,
            reason,
            brand_status=brand_status,
            campaign_status=campaign_status,
            numbers=await self._numbers(registration),
        )

    async def add_number(self, registration: Registration, number_sid: str) -> None:
        service = self._api.client.messaging.v1.services(registration.messaging_service_sid)
        try:
            async with self._api.calling("adding a number to the campaign", _ADD_NUMBER_ERRORS):
                await service.phone_numbers.create_async(phone_number_sid=number_sid)
        except _AlreadyInServiceError:
            return

    async def _end_user(self, kind: str, friendly_name: str, attributes: dict[str, Any]) -> str:
        async with self._api.calling(f"creating the {kind.replace('_', ' ')}"):
            end_user = await self._api.client.trusthub.v1.end_users.create_async(
                type=kind, friendly_name=friendly_name, attributes=attributes
            )
        return str(end_user.sid)

    async def _address_document(self, business: BusinessDetails) -> str:
        address = business.address
        async with self._api.calling("creating the business address"):
            created = await self._api.client.addresses.create_async(
                customer_name=business.legal_name,
                street=address.street,
                city=address.city,
                region=address.region,
                postal_code=address.postal_code,
                iso_country=address.country,
            )
            document = await self._api.client.trusthub.v1.supporting_documents.create_async(
                type="customer_profile_address",
                friendly_name=_name(business.legal_name, "address"),
                attributes={"address_sids": created.sid},
            )
        return str(document.sid)

    async def _trust_product(self, business: BusinessDetails, profile_sid: str) -> str:
        trusthub = self._api.client.trusthub.v1
        async with self._api.calling("creating the A2P profile"):
            product = await trusthub.trust_products.create_async(
                friendly_name=_name(business.legal_name, "A2P messaging profile"),
                email=business.email,
                policy_sid=A2P_TRUST_PRODUCT_POLICY_SID,
            )
        attributes: dict[str, Any] = {"company_type": business.company_type}
        if business.company_type == "public":
            attributes |= {
                "stock_exchange": business.stock_exchange,
                "stock_ticker": business.stock_ticker,
            }
        messaging_profile = await self._end_user(
            "us_a2p_messaging_profile_information",
            _name(business.legal_name, "messaging profile"),
            attributes,
        )
        bundle = trusthub.trust_products(product.sid)
        for sid in (messaging_profile, profile_sid):
            async with self._api.calling("assigning to the A2P profile"):
                await bundle.trust_products_entity_assignments.create_async(object_sid=sid)
        async with self._api.calling("evaluating the A2P profile"):
            evaluation = await bundle.trust_products_evaluations.create_async(
                policy_sid=A2P_TRUST_PRODUCT_POLICY_SID
            )
        self._require_compliant(evaluation, "the A2P profile")
        async with self._api.calling("submitting the A2P profile"):
            await bundle.update_async(status="pending-review")
        return str(product.sid)

    @staticmethod
    def _require_compliant(evaluation: Any, what: str) -> None:
        if evaluation.status != "compliant":
            reasons = _failed_checks(evaluation)
            raise RegistrationRejectedError(
                f"Twilio's checks refused {what}: " + "; ".join(reasons), reasons
            )

    async def _profiles_review(self, registration: Registration) -> tuple[bool, str | None]:
        """(both TrustHub profiles approved, why one was rejected)."""
        trusthub = self._api.client.trusthub.v1
        async with self._api.calling("reading the business profiles"):
            profile = await trusthub.customer_profiles(
                registration.customer_profile_sid
            ).fetch_async()
            product = await trusthub.trust_products(registration.trust_product_sid).fetch_async()
        for bundle in (profile, product):
            if bundle.status == BUNDLE_REJECTED:
                return False, _reasons(bundle.errors) or f"{bundle.friendly_name} was rejected"
        return profile.status == product.status == BUNDLE_APPROVED, None

    async def _brand(self, registration: Registration) -> str:
        brands = self._api.client.messaging.v1.brand_registrations
        async with self._api.calling("looking for the brand"):
            for brand in await brands.list_async():
                if (
                    brand.customer_profile_bundle_sid == registration.customer_profile_sid
                    and brand.a2p_profile_bundle_sid == registration.trust_product_sid
                ):
                    return str(brand.sid)
        async with self._api.calling("registering the brand"):
            brand = await brands.create_async(
                customer_profile_bundle_sid=registration.customer_profile_sid,
                a2p_profile_bundle_sid=registration.trust_product_sid,
                skip_automatic_sec_vet=True,  # Low Volume Standard: no secondary vetting
            )
        return str(brand.sid)

    async def _campaign(self, registration: Registration) -> str:
        service = self._api.client.messaging.v1.services(registration.messaging_service_sid)
        async with self._api.calling("looking for the campaign"):
            existing = await service.us_app_to_person.list_async(limit=1)
        if existing:
            return str(existing[0].sid)
        campaign = registration.campaign
        optional = {
            "opt_in_message": campaign.opt_in_message,
            "privacy_policy_url": campaign.privacy_policy_url,
            "terms_and_conditions_url": campaign.terms_and_conditions_url,
        }
        async with self._api.calling("registering the campaign"):
            created = await service.us_app_to_person.create_async(
                brand_registration_sid=registration.brand_sid,
                description=campaign.description,
                message_flow=campaign.message_flow,
                message_samples=list(campaign.sample_messages),
                us_app_to_person_usecase=campaign.use_case,
                has_embedded_links=campaign.has_embedded_links,
                has_embedded_phone=campaign.has_embedded_phone,
                **{k: v for k, v in optional.items() if v is not None},
            )
        return str(created.sid)

    async def _campaign_status(self, registration: Registration) -> tuple[str | None, Any]:
        service = self._api.client.messaging.v1.services(registration.messaging_service_sid)
        async with self._api.calling("reading the campaign"):
            campaign = await service.us_app_to_person(registration.campaign_sid).fetch_async()
        return campaign.campaign_status, campaign.errors

    async def _numbers(self, registration: Registration) -> tuple[str, ...]:
        service = self._api.client.messaging.v1.services(registration.messaging_service_sid)
        async with self._api.calling("listing the campaign's numbers"):
            numbers = await service.phone_numbers.list_async()
        return tuple(n.phone_number for n in numbers)
