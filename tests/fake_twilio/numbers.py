"""The fake's AvailablePhoneNumbers, IncomingPhoneNumbers and Addresses resources. Numbers for
sale are what a test stocks (`FakeTwilio.stock`); a bought one leaves the stock for good."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fake_twilio._wire import (
    MISSING_PARAMETER,
    error,
    new_sid,
    not_found,
    now,
    page_2010,
    require,
    rfc2822,
)

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

NOT_AVAILABLE, NONE_IN_AREA_CODE, INVALID_AREA_CODE = 21422, 21452, 21451
_KEYS = "ABC DEF GHI JKL MNO PQRS TUV WXYZ".split()
_KEYPAD = {c: str(i + 2) for i, letters in enumerate(_KEYS) for c in letters}
_URL_FIELDS = {
    "FriendlyName": "friendly_name",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
}


def for_sale(phone_number: str, locality: str, region: str, sms: bool = True) -> dict[str, Any]:
    return {
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"mms": sms, "sms": sms, "voice": True},
        "friendly_name": f"({phone_number[2:5]}) {phone_number[5:8]}-{phone_number[8:]}",
        "iso_country": "US",
        "lata": "722",
        "latitude": "37.780000",
        "locality": locality,
        "longitude": "-122.390000",
        "phone_number": phone_number,
        "postal_code": "94105",
        "rate_center": locality.upper(),
        "region": region,
    }


def _contains(pattern: str) -> re.Pattern[str]:
    digits = "".join(_KEYPAD.get(c, c) for c in pattern.upper())
    return re.compile(re.escape(digits).replace(r"\*", r"\d"))


async def search(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    query = request.query_params
    area_code, contains = query.get("AreaCode"), query.get("Contains")
    if area_code is not None and not re.fullmatch(r"[2-9]\d\d", area_code):
        return error(400, INVALID_AREA_CODE, f"Invalid AreaCode: {area_code}")
    with fake.changed:
        stock = list(fake.available.values())
    found = [
        n
        for n in stock
        if (area_code is None or n["phone_number"][2:5] == area_code)
        and (contains is None or _contains(contains).search(n["phone_number"][2:]))
        and (query.get("SmsEnabled") != "true" or n["capabilities"]["sms"])
    ][: int(query.get("PageSize", "50"))]
    return JSONResponse({"available_phone_numbers": found, "uri": request.url.path})


def _owned_record(fake: FakeTwilio, sale: dict[str, Any], form: FormData) -> dict[str, Any]:
    sid, created = new_sid("PN"), rfc2822(now())
    record: dict[str, Any] = {
        "account_sid": fake.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": "2010-04-01",
        "beta": False,
        "bundle_sid": None,
        "capabilities": sale["capabilities"] | {"fax": False},
        "date_created": created,
        "date_updated": created,
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": sale["friendly_name"],
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": sale["phone_number"],
        "sid": sid,
        "sms_application_sid": "",
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "",
        "status": "in-use",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "type": "local",
        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/IncomingPhoneNumbers/{sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_receive_mode": "voice",
        "voice_url": None,
    }
    return _apply(record, form)


def _apply(record: dict[str, Any], form: FormData) -> dict[str, Any]:
    for param, field in _URL_FIELDS.items():
        if param in form:
            record[field] = str(form[param])
    record["date_updated"] = rfc2822(now())
    return record


async def buy(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    phone_number, area_code = form.get("PhoneNumber"), form.get("AreaCode")
    with fake.changed:
        if phone_number is not None:
            sale = fake.available.pop(str(phone_number), None)
            if sale is None:
                return error(400, NOT_AVAILABLE, f"PhoneNumber {phone_number} is not available.")
        elif area_code is not None:
            if not re.fullmatch(r"[2-9]\d\d", str(area_code)):
                return error(400, INVALID_AREA_CODE, f"Invalid AreaCode: {area_code}")
            matching = [n for n in fake.available if n[2:5] == area_code]
            if not matching:
                return error(400, NONE_IN_AREA_CODE, f"No phone numbers found in {area_code}")
            sale = fake.available.pop(matching[0])
        else:
            return error(400, MISSING_PARAMETER, "A PhoneNumber or AreaCode is required.")
        record = _owned_record(fake, sale, form)
        fake.owned[record["sid"]] = record
    return JSONResponse(record, status_code=201)


async def read(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    query = request.query_params
    with fake.changed:
        found = [
            n
            for n in fake.owned.values()
            if query.get("PhoneNumber") in (None, n["phone_number"])
            and query.get("FriendlyName") in (None, n["friendly_name"])
        ]
    return page_2010(request, "incoming_phone_numbers", found)


async def fetch(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    record = fake.owned.get(request.path_params["sid"])
    return JSONResponse(record) if record else not_found(request)


async def update(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    with fake.changed:
        record = fake.owned.get(request.path_params["sid"])
        if record is None:
            return not_found(request)
        _apply(record, form)
    return JSONResponse(record)


async def release(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    with fake.changed:
        record = fake.owned.pop(request.path_params["sid"], None)
        if record is not None:
            fake.released.append(record)
    return Response(status_code=204) if record else not_found(request)


async def create_address(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    required = ("CustomerName", "Street", "City", "Region", "PostalCode", "IsoCountry")
    if problem := require(form, *required):
        return problem
    sid, created = new_sid("AD"), rfc2822(now())
    record = {
        "account_sid": fake.account_sid,
        "city": form["City"],
        "customer_name": form["CustomerName"],
        "date_created": created,
        "date_updated": created,
        "emergency_enabled": False,
        "friendly_name": form.get("FriendlyName"),
        "iso_country": form["IsoCountry"],
        "postal_code": form["PostalCode"],
        "region": form["Region"],
        "sid": sid,
        "street": form["Street"],
        "street_secondary": None,
        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Addresses/{sid}.json",
        "validated": True,
        "verified": False,
    }
    with fake.changed:
        fake.addresses[sid] = record
    return JSONResponse(record, status_code=201)
