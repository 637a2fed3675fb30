"""What `server/` needs from Twilio or the sandbox: texts (`SmsProvider`), phone numbers
(`PhoneNumbers`) and A2P 10DLC carrier registration (`CarrierRegistration`). Each provider
module implements all three; docs/decisions.md ("Providers") says why they look like this."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

# Texts


@dataclass(frozen=True)
class OutboundText:
    to: str
    from_: str
    body: str
    status_callback: str | None = None
    media_urls: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


@dataclass(frozen=True)
class FetchedMedia:
    """A received text's picture or file, as the provider serves it."""

    data: bytes
    content_type: str | None  # the provider's word, to be checked against the bytes


# Numbers


@dataclass(frozen=True)
class AvailableNumber:
    phone_number: str  # E.164
    locality: str | None
    region: str | None  # two-letter state or province


@dataclass(frozen=True)
class NumberWebhooks:
    """Where the carrier calls us about a number (all POST)."""

    sms_url: str
    status_callback: str
    voice_url: str


@dataclass(frozen=True)
class OwnedNumber:
    sid: str
    phone_number: str
    friendly_name: str | None
    webhooks: NumberWebhooks | None


# Registration

RegistrationState = Literal["unregistered", "pending", "registered", "failed"]
CompanyType = Literal["private", "public", "non_profit", "government"]


@dataclass(frozen=True)
class PostalAddress:
    street: str
    city: str
    region: str  # two-letter state
    postal_code: str
    country: str = "US"


@dataclass(frozen=True)
class Representative:
    """The person the carriers may contact about the brand."""

    first_name: str
    last_name: str
    email: str
    phone_number: str  # E.164
    title: str
    position: str = "Director"  # Twilio's list: Director, GM, VP, CEO, CFO, General Counsel


@dataclass(frozen=True)
class BusinessDetails:
    legal_name: str
    business_type: str  # "Limited Liability Corporation", "Corporation", "Partnership", ...
    industry: str  # Twilio's list: "TECHNOLOGY", "LEGAL", "REAL_ESTATE", ...
    registration_number: str  # the EIN for a US business
    website: str
    email: str  # where the carrier's review notices go
    address: PostalAddress
    representative: Representative
    company_type: CompanyType = "private"
    registration_id_type: str = "EIN"
    stock_exchange: str | None = None  # public companies only
    stock_ticker: str | None = None


@dataclass(frozen=True)
class CampaignDetails:
    use_case: str  # Twilio's codes: "LOW_VOLUME" (mixed, low volume), "CUSTOMER_CARE", ...
    description: str
    sample_messages: tuple[str, ...]
    message_flow: str  # how a customer opts in
    has_embedded_links: bool = False
    has_embedded_phone: bool = False
    opt_in_message: str | None = None
    privacy_policy_url: str | None = None
    terms_and_conditions_url: str | None = None


@dataclass(frozen=True)
class Registration:
    """What a provider needs to find a registration again; the caller stores it and passes
    it back. The brand and campaign sids fill in as `check_registration` advances."""

    customer_profile_sid: str
    trust_product_sid: str
    messaging_service_sid: str
    campaign: CampaignDetails
    started_at: datetime
    brand_sid: str | None = None
    campaign_sid: str | None = None


@dataclass(frozen=True)
class RegistrationStatus:
    state: RegistrationState
    registration: Registration  # store this one: it may have advanced
    reason: str | None = None  # the carrier's words when `failed`
    brand_status: str | None = None  # the provider's own, for the admin page
    campaign_status: str | None = None
    numbers: tuple[str, ...] = ()  # E.164 numbers in the campaign's messaging service


# Protocols


class PhoneNumbers(Protocol):
    async def search(
        self, area_code: str | None, *, contains: str | None = None, limit: int = 20
    ) -> list[AvailableNumber]:
        """US local, SMS-capable numbers for sale now (`area_code` None: anywhere in the US);
        an area code with none: []."""
        ...

    async def buy(
        self,
        webhooks: NumberWebhooks,
        *,
        phone_number: str | None = None,
        area_code: str | None = None,
        friendly_name: str | None = None,
    ) -> OwnedNumber:
        """That number, or any in that area code; `NumberUnavailableError` when there is none."""
        ...

    async def update(
        self, sid: str, *, webhooks: NumberWebhooks | None = None, friendly_name: str | None = None
    ) -> OwnedNumber: ...

    async def find_owned(
        self, *, phone_number: str | None = None, friendly_name: str | None = None
    ) -> OwnedNumber | None:
        """A number the account holds, by number or by the friendly name it was bought with
        (a timed-out buy may have gone through)."""
        ...

    async def release(self, sid: str) -> None:
        """Give the number back; releasing one already gone is not an error."""
        ...


class CarrierRegistration(Protocol):
    async def start(
        self,
        business: BusinessDetails,
        campaign: CampaignDetails,
        *,
        inbound_url: str,
        number_sids: Collection[str] = (),
    ) -> Registration:
        """Submit the business for review (a Low Volume Standard brand) and make the messaging
        service the campaign will use (`inbound_url`: our inbound SMS webhook) with these
        numbers in it; `RegistrationRejectedError` if the carrier's checks refuse it."""
        ...

    async def check(self, registration: Registration) -> RegistrationStatus:
        """Poll the review, taking the next step when the last one passed (brand, campaign)."""
        ...

    async def add_number(self, registration: Registration, number_sid: str) -> None:
        """Put a bought number in the campaign's messaging service (idempotent)."""
        ...


class SmsProvider(Protocol):
    name: str

    @property
    def numbers(self) -> PhoneNumbers: ...

    @property
    def registration(self) -> CarrierRegistration: ...

    async def send(self, text: OutboundText) -> SendResult:
        """Hand the text to the carrier; raise `SmsError` (retryable for 5xx and timeouts)."""
        ...

    async def find_sent(
        self,
        text: OutboundText,
        since: datetime,
        *,
        until: datetime | None = None,
        exclude: Collection[str] = (),
    ) -> SendResult | None:
        """The oldest message the provider has from `text.from_` to `text.to` with this body,
        created in [since, until], whose sid is not in `exclude` (a timed-out send may have
        gone through; sids known to be our other texts are excluded)."""
        ...

    async def fetch_media(self, url: str, max_bytes: int) -> FetchedMedia:
        """A received text's media at `url` (as the inbound webhook named it), fetched with the
        account's credentials: `MediaGoneError` when the provider no longer has it, is larger
        than `max_bytes`, or `url` is not this account's; `SmsError` when it could not be
        fetched now (retryable)."""
        ...

    async def close(self) -> None: ...
