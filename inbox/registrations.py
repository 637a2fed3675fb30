"""The team's carrier registration in the store (A2P 10DLC: DESIGN.md, "Phone numbers"): the
business and campaign an admin entered, checked into the provider's dataclasses; the
provider's `Registration`, kept as JSON and replaced by each advanced one `check` returns; and
the team's state. A team registered before Switchboard tracked it (a registered inbox, no row)
counts as registered."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.models import CarrierRegistration, Inbox
from inbox.providers.base import (
    BusinessDetails,
    CampaignDetails,
    PostalAddress,
    Registration,
    RegistrationStatus,
    Representative,
)

MAX_FIELD_CHARS = 1024  # Twilio's longest campaign text
MAX_SAMPLES = 5  # Twilio takes two to five sample messages
COMPANY_TYPES = ("private", "public", "non_profit", "government")
ADDRESS_FIELDS = ("street", "city", "region", "postal_code")
PERSON_FIELDS = ("first_name", "last_name", "email", "phone_number", "title")
BUSINESS_FIELDS = (
    *("legal_name", "business_type", "industry", "registration_number", "website", "email"),
)


def _text(
    given: dict[str, Any], key: str, where: str, problems: list[str], *, optional: bool = False
) -> Any:
    value = given.get(key)
    if value in (None, "") and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD_CHARS:
        problems.append(f"{where}{key} is required (1 to {MAX_FIELD_CHARS} characters)")
        return ""
    return value.strip()


def _object(given: dict[str, Any], key: str) -> dict[str, Any]:
    value = given.get(key)
    return value if isinstance(value, dict) else {}


def parse(body: dict[str, Any]) -> tuple[BusinessDetails, CampaignDetails]:
    """The business and campaign of `POST /api/v1/registration`; 422 naming every field that
    is missing or wrong."""
    problems: list[str] = []
    business = _object(body, "business")
    address = _object(business, "address")
    person = _object(business, "representative")
    a = {k: _text(address, k, "business.address.", problems) for k in ADDRESS_FIELDS}
    r = {k: _text(person, k, "business.representative.", problems) for k in PERSON_FIELDS}
    b = {k: _text(business, k, "business.", problems) for k in BUSINESS_FIELDS}
    company_type = business.get("company_type", "private")
    if company_type not in COMPANY_TYPES:
        problems.append(f"business.company_type is one of {', '.join(COMPANY_TYPES)}")
    samples = body.get("sample_messages")
    if (
        not isinstance(samples, list)
        or not 1 <= len(samples) <= MAX_SAMPLES
        or not all(isinstance(m, str) and m.strip() for m in samples)
    ):
        problems.append(f"sample_messages is a list of 1 to {MAX_SAMPLES} messages")
        samples = []
    c = {
        "use_case": _text(body, "use_case", "", problems),
        "description": _text(body, "description", "", problems),
        "message_flow": _text(body, "opt_in", "", problems),
        "privacy_policy_url": _text(body, "privacy_policy_url", "", problems, optional=True),
        "terms_and_conditions_url": _text(
            body, "terms_and_conditions_url", "", problems, optional=True
        ),
    }
    if problems:
        raise InvalidInputError("; ".join(problems), "invalid_registration")
    details = BusinessDetails(
        **b,
        address=PostalAddress(**a),
        representative=Representative(**r),
        company_type=company_type,
    )
    campaign = CampaignDetails(**c, sample_messages=tuple(s.strip() for s in samples))
    return details, campaign


def _encode(value: Any) -> str:
    return json.dumps(dataclasses.asdict(value), default=str, sort_keys=True)


def registration_of(row: CarrierRegistration) -> Registration | None:
    """The provider's registration as last stored (None: not started at the provider)."""
    if row.registration is None:
        return None
    raw = json.loads(row.registration)
    campaign = raw.pop("campaign")
    campaign["sample_messages"] = tuple(campaign["sample_messages"])
    return Registration(
        **{**raw, "started_at": datetime.fromisoformat(raw["started_at"])},
        campaign=CampaignDetails(**campaign),
    )


async def team_row(session: AsyncSession, team_id: int) -> CarrierRegistration | None:
    row: CarrierRegistration | None = await session.get(CarrierRegistration, team_id)
    return row


async def team_state(session: AsyncSession, team_id: int) -> str:
    row = await team_row(session, team_id)
    if row is not None:
        return row.state
    legacy = await session.scalar(
        select(col(Inbox.id)).where(
            col(Inbox.team_id) == team_id,
            col(Inbox.mailroom).is_(False),
            col(Inbox.registration) == "registered",
        )
    )
    return "registered" if legacy is not None else "unregistered"


def new_row(
    team_id: int, business: BusinessDetails, campaign: CampaignDetails, registration: Registration
) -> CarrierRegistration:
    return CarrierRegistration(
        team_id=team_id,
        state="pending",
        business=_encode(business),
        campaign=_encode(campaign),
        registration=_encode(registration),
    )


def apply_status(row: CarrierRegistration, status: RegistrationStatus, now: datetime) -> bool:
    """Keep what a check found (the advanced registration above all); whether the state moved."""
    moved = row.state != status.state
    row.state = status.state
    row.registration = _encode(status.registration)
    row.reason = status.reason
    row.brand_status = status.brand_status
    row.campaign_status = status.campaign_status
    row.checked_at = now
    return moved


def view(row: CarrierRegistration | None, state: str, counts: dict[str, int]) -> dict[str, Any]:
    """What the registration page shows: the state, Twilio's reason when failed, the review's
    own statuses, what was entered (no secrets: it holds none) and the numbers' tags."""
    out: dict[str, Any] = {
        "state": state,
        "reason": None,
        "brand_status": None,
        "campaign_status": None,
        "business": None,
        "campaign": None,
        "checked_at": None,
        "numbers": counts,
    }
    if row is not None:
        out |= {
            "reason": row.reason,
            "brand_status": row.brand_status,
            "campaign_status": row.campaign_status,
            "business": json.loads(row.business),
            "campaign": json.loads(row.campaign),
            "checked_at": row.checked_at.isoformat() if row.checked_at else None,
        }
    return out
