"""Checks every provider makes the same way, before anything is asked of a carrier."""

from __future__ import annotations

import re

from inbox.errors import InvalidInputError
from inbox.providers.base import CampaignDetails

# A North American area code: NXX, N = 2-9, and not an N11 service code (411, 911).
_AREA_CODE = re.compile(r"[2-9](?!11)\d\d")

# Twilio's UsAppToPerson limits (twilio-python's us_app_to_person.py documents them).
CAMPAIGN_TEXT_MIN_CHARS = 40
SAMPLE_MIN_CHARS, SAMPLE_MAX_CHARS = 20, 1024
SAMPLES_MIN, SAMPLES_MAX = 2, 5


def check_area_code(area_code: str) -> str:
    area_code = area_code.strip()
    if not _AREA_CODE.fullmatch(area_code):
        raise InvalidInputError(f"{area_code!r} is not a US area code", "invalid_area_code")
    return area_code


def check_campaign(campaign: CampaignDetails) -> None:
    problems = []
    if len(campaign.description.strip()) < CAMPAIGN_TEXT_MIN_CHARS:
        problems.append(f"the description needs at least {CAMPAIGN_TEXT_MIN_CHARS} characters")
    if len(campaign.message_flow.strip()) < CAMPAIGN_TEXT_MIN_CHARS:
        problems.append(f"the opt-in flow needs at least {CAMPAIGN_TEXT_MIN_CHARS} characters")
    if not SAMPLES_MIN <= len(campaign.sample_messages) <= SAMPLES_MAX:
        problems.append(f"give {SAMPLES_MIN} to {SAMPLES_MAX} sample messages")
    if any(
        not SAMPLE_MIN_CHARS <= len(s.strip()) <= SAMPLE_MAX_CHARS for s in campaign.sample_messages
    ):
        problems.append(
            f"each sample message needs {SAMPLE_MIN_CHARS} to {SAMPLE_MAX_CHARS} characters"
        )
    if problems:
        raise InvalidInputError("; ".join(problems), "invalid_campaign")
