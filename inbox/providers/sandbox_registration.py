"""Sandbox carrier registration: the review is a clock. From `started_at`, the brand is pending
for half of `review_secs` and approved after it; the campaign is verified at `review_secs`,
unless no sample message tells the customer how to opt out (carriers reject those), which
fails it. The state follows from the stored `Registration` alone, so every process and a
restart agree; only the campaign's numbers live in this process's memory."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from inbox.errors import ConflictError
from inbox.providers._helpers import check_campaign
from inbox.providers.base import (
    BusinessDetails,
    CampaignDetails,
    Registration,
    RegistrationStatus,
)
from inbox.providers.sandbox_numbers import SandboxNumbers

# A real review takes days; a minute shows the whole walk in a demo.
REVIEW_SECS = 60.0
# A Low Volume Standard brand registers at most 400 numbers (seed 000; Twilio's pool limit).
NUMBERS_PER_CAMPAIGN = 400
OPT_OUT_WORDS = ("STOP", "UNSUBSCRIBE", "OPT OUT", "OPT-OUT")
NO_OPT_OUT_REASON = "no sample message tells the customer how to opt out (for example 'Reply STOP')"


def _sid(prefix: str, *seed: str) -> str:
    return prefix + hashlib.sha256("/".join(seed).encode()).hexdigest()[:32]


class SandboxRegistration:
    def __init__(self, numbers: SandboxNumbers, *, review_secs: float = REVIEW_SECS) -> None:
        self._numbers = numbers
        self._review = timedelta(seconds=review_secs)
        self._members: dict[str, list[str]] = {}  # messaging service sid -> E.164 numbers

    async def start(
        self,
        business: BusinessDetails,
        campaign: CampaignDetails,
        *,
        inbound_url: str,
        number_sids: Collection[str] = (),
    ) -> Registration:
        check_campaign(campaign)
        started = datetime.now(UTC)
        seed = (business.legal_name, started.isoformat())
        registration = Registration(
            customer_profile_sid=_sid("BU", "profile", *seed),
            trust_product_sid=_sid("BU", "a2p", *seed),
            messaging_service_sid=_sid("MG", *seed),
            campaign=campaign,
            started_at=started,
        )
        for sid in number_sids:
            await self.add_number(registration, sid)
        return registration

    async def check(self, registration: Registration) -> RegistrationStatus:
        elapsed = datetime.now(UTC) - registration.started_at
        numbers = tuple(self._members.get(registration.messaging_service_sid, ()))
        if elapsed < self._review / 2:
            return RegistrationStatus(
                "pending", registration, brand_status="PENDING", numbers=numbers
            )
        registration = replace(
            registration,
            brand_sid=_sid("BN", registration.customer_profile_sid),
            campaign_sid=_sid("QE", registration.messaging_service_sid),
        )
        if elapsed < self._review:
            return RegistrationStatus(
                "pending",
                registration,
                brand_status="APPROVED",
                campaign_status="IN_PROGRESS",
                numbers=numbers,
            )
        samples = " ".join(registration.campaign.sample_messages).upper()
        if not any(word in samples for word in OPT_OUT_WORDS):
            return RegistrationStatus(
                "failed",
                registration,
                NO_OPT_OUT_REASON,
                brand_status="APPROVED",
                campaign_status="FAILED",
                numbers=numbers,
            )
        return RegistrationStatus(
            "registered",
            registration,
            brand_status="APPROVED",
            campaign_status="VERIFIED",
            numbers=numbers,
        )

    async def add_number(self, registration: Registration, number_sid: str) -> None:
        phone_number = self._numbers.phone_number_of(number_sid)
        members = self._members.setdefault(registration.messaging_service_sid, [])
        if phone_number in members:
            return
        if len(members) >= NUMBERS_PER_CAMPAIGN:
            raise ConflictError(
                f"the campaign already has {NUMBERS_PER_CAMPAIGN} numbers", "number_pool_full"
            )
        members.append(phone_number)
