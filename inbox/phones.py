"""Phone numbers in E.164, through `phonenumbers`."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from inbox.errors import InvalidInputError

DEFAULT_REGION = "US"
# Numbers seen lately (an inbox's own, its regular customers'): parsing one costs about 13 µs,
# and every inbound text has two. A refused number is not kept (its error is raised anew).
CACHED_NUMBERS = 4096


@lru_cache(maxsize=CACHED_NUMBERS)
def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Normalise a number a person or a carrier wrote; raise `InvalidInputError` if it is none."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInputError(f"{raw!r} is not a phone number", "invalid_number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInputError(f"{raw!r} is not a possible phone number", "invalid_number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
