"""Sandbox phone numbers: invented, in this process's memory. An area code always offers the
same numbers (fictional 555-01XX lines, in an order of its own), less those already sold;
one outside the US, or in NO_NUMBERS_AREA_CODES, has none, so "no number in that area code"
can be seen on a laptop. A number sold once is never offered again, even after release."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import replace

import phonenumbers
from phonenumbers import geocoder

from inbox.errors import NotFoundError, NumberUnavailableError
from inbox.phones import to_e164
from inbox.providers._helpers import check_area_code
from inbox.providers.base import AvailableNumber, NumberWebhooks, OwnedNumber

# Manhattan's 212 is famously hard to get; 332 overlays it.
NO_NUMBERS_AREA_CODES = frozenset({"212", "332"})
# Where "any US number" comes from: a few area codes of large cities, in this order.
ANY_AREA_CODES = ("415", "312", "617", "206", "512")
# 555-0100 to 555-0199 are the lines set aside for fiction: nobody real is ever texted.
FICTIONAL_LINES = range(100, 200)

_KEYPAD = {c: str(d) for d, cs in enumerate(("ABC", "DEF", "GHI", "JKL", "MNO"), 2) for c in cs}
_KEYPAD |= {c: "7" for c in "PQRS"} | {c: "8" for c in "TUV"} | {c: "9" for c in "WXYZ"}
_STATES = dict(
    pair.split("=")
    for pair in (
        "Alabama=AL,Alaska=AK,Arizona=AZ,Arkansas=AR,California=CA,Colorado=CO,Connecticut=CT,"
        "Delaware=DE,Florida=FL,Georgia=GA,Hawaii=HI,Idaho=ID,Illinois=IL,Indiana=IN,Iowa=IA,"
        "Kansas=KS,Kentucky=KY,Louisiana=LA,Maine=ME,Maryland=MD,Massachusetts=MA,Michigan=MI,"
        "Minnesota=MN,Mississippi=MS,Missouri=MO,Montana=MT,Nebraska=NE,Nevada=NV,"
        "New Hampshire=NH,New Jersey=NJ,New Mexico=NM,New York=NY,North Carolina=NC,"
        "North Dakota=ND,Ohio=OH,Oklahoma=OK,Oregon=OR,Pennsylvania=PA,Rhode Island=RI,"
        "South Carolina=SC,South Dakota=SD,Tennessee=TN,Texas=TX,Utah=UT,Vermont=VT,"
        "Virginia=VA,Washington State=WA,Washington D.C.=DC,West Virginia=WV,Wisconsin=WI,"
        "Wyoming=WY"
    ).split(",")
)


def _place(phone_number: str) -> tuple[str | None, str | None]:
    """(locality, region) as phonenumbers' geocoder knows them: a city, or only the state."""
    description = geocoder.description_for_number(phonenumbers.parse(phone_number), "en")
    if ", " in description:
        city, region = description.rsplit(", ", 1)
        return city, region
    return None, _STATES.get(description)


def _pattern(contains: str) -> re.Pattern[str]:
    """Twilio's Contains: digits, letters as on a keypad, `*` for any one digit."""
    digits = "".join(_KEYPAD.get(c, c) for c in contains.upper() if c.isalnum() or c == "*")
    return re.compile(re.escape(digits).replace(r"\*", r"\d"))


class SandboxNumbers:
    def __init__(self) -> None:
        self._owned: dict[str, OwnedNumber] = {}
        self._sold: set[str] = set()

    def phone_number_of(self, sid: str) -> str:
        if sid not in self._owned:
            raise NotFoundError(f"the sandbox has no number {sid}")
        return self._owned[sid].phone_number

    def _stock(self, area_code: str) -> list[str]:
        if area_code in NO_NUMBERS_AREA_CODES:
            return []
        numbers = [f"+1{area_code}5550{line}" for line in FICTIONAL_LINES]
        if phonenumbers.region_code_for_number(phonenumbers.parse(numbers[0])) != "US":
            return []  # a Canadian or Caribbean area code, or none at all
        numbers.sort(key=lambda n: hashlib.sha256(n.encode()).digest())
        return [n for n in numbers if n not in self._sold]

    async def search(
        self, area_code: str | None, *, contains: str | None = None, limit: int = 20
    ) -> list[AvailableNumber]:
        if area_code is None:
            stock = [n for code in ANY_AREA_CODES for n in self._stock(code)]
        else:
            stock = self._stock(check_area_code(area_code))
        if contains:
            pattern = _pattern(contains)
            stock = [n for n in stock if pattern.search(n[2:])]
        return [AvailableNumber(n, *_place(n)) for n in stock[:limit]]

    async def buy(
        self,
        webhooks: NumberWebhooks,
        *,
        phone_number: str | None = None,
        area_code: str | None = None,
        friendly_name: str | None = None,
    ) -> OwnedNumber:
        if (phone_number is None) == (area_code is None):
            raise RuntimeError("buy() takes exactly one of phone_number and area_code")
        if phone_number is not None:
            phone_number = to_e164(phone_number)
            if phone_number not in self._stock(phone_number[2:5]):
                raise NumberUnavailableError(
                    f"{phone_number} is not available", phone_number=phone_number
                )
        else:
            stock = self._stock(check_area_code(area_code or ""))
            if not stock:
                raise NumberUnavailableError(
                    f"no number is left in area code {area_code}", area_code=area_code
                )
            phone_number = stock[0]
        number = OwnedNumber("PN" + uuid.uuid4().hex, phone_number, friendly_name, webhooks)
        self._sold.add(phone_number)
        self._owned[number.sid] = number
        return number

    async def update(
        self, sid: str, *, webhooks: NumberWebhooks | None = None, friendly_name: str | None = None
    ) -> OwnedNumber:
        number = self._owned.get(sid)
        if number is None:
            raise NotFoundError(f"the sandbox has no number {sid}")
        if webhooks is not None:
            number = replace(number, webhooks=webhooks)
        if friendly_name is not None:
            number = replace(number, friendly_name=friendly_name)
        self._owned[sid] = number
        return number

    async def find_owned(
        self, *, phone_number: str | None = None, friendly_name: str | None = None
    ) -> OwnedNumber | None:
        if phone_number is None and friendly_name is None:
            raise RuntimeError("find_owned() needs a phone_number or a friendly_name")
        wanted = to_e164(phone_number) if phone_number else None
        for number in self._owned.values():
            if wanted in (None, number.phone_number) and friendly_name in (
                None,
                number.friendly_name,
            ):
                return number
        return None

    async def release(self, sid: str) -> None:
        self._owned.pop(sid, None)
