"""Phone numbers through Twilio's AvailablePhoneNumbers and IncomingPhoneNumbers resources."""

from __future__ import annotations

from typing import Any

from twilio.base.exceptions import TwilioRestException

from inbox.errors import InvalidInputError, NotFoundError, NumberUnavailableError
from inbox.phones import to_e164
from inbox.providers._helpers import check_area_code
from inbox.providers._twilio_api import ErrorFactory, TwilioApi
from inbox.providers.base import AvailableNumber, NumberWebhooks, OwnedNumber

# Twilio's error codes for number calls (twilio.com/docs/errors/NNNNN).
PHONE_NUMBER_NOT_AVAILABLE = 21422  # that number is sold or reserved
NO_NUMBERS_IN_AREA_CODE = 21452
PHONE_NUMBER_INVALID = 21421
AREA_CODE_INVALID = 21451
RESOURCE_NOT_FOUND = 20404


def _errors(
    phone_number: str | None = None, area_code: str | None = None
) -> dict[int, ErrorFactory]:
    def unavailable(exc: TwilioRestException) -> NumberUnavailableError:
        what = phone_number or f"any number in area code {area_code}"
        return NumberUnavailableError(
            f"{what} is not available",
            phone_number=phone_number,
            area_code=area_code,
            provider_code=str(exc.code),
        )

    return {
        PHONE_NUMBER_NOT_AVAILABLE: unavailable,
        NO_NUMBERS_IN_AREA_CODE: unavailable,
        PHONE_NUMBER_INVALID: lambda exc: InvalidInputError(exc.msg, "invalid_number"),
        AREA_CODE_INVALID: lambda exc: InvalidInputError(exc.msg, "invalid_area_code"),
        RESOURCE_NOT_FOUND: lambda exc: NotFoundError("Twilio has no such number"),
    }


def _webhook_params(webhooks: NumberWebhooks) -> dict[str, str]:
    return {
        "sms_url": webhooks.sms_url,
        "sms_method": "POST",
        "status_callback": webhooks.status_callback,
        "status_callback_method": "POST",
        "voice_url": webhooks.voice_url,
        "voice_method": "POST",
    }


def _owned(number: Any) -> OwnedNumber:
    webhooks = None
    if number.sms_url and number.voice_url:
        webhooks = NumberWebhooks(number.sms_url, number.status_callback or "", number.voice_url)
    return OwnedNumber(number.sid, number.phone_number, number.friendly_name, webhooks)


class TwilioNumbers:
    def __init__(self, api: TwilioApi) -> None:
        self._api = api

    async def search(
        self, area_code: str | None, *, contains: str | None = None, limit: int = 20
    ) -> list[AvailableNumber]:
        params: dict[str, Any] = {"sms_enabled": True}
        if area_code is not None:
            area_code = check_area_code(area_code)
            params["area_code"] = int(area_code)
        if contains:
            params["contains"] = contains
        async with self._api.calling("searching numbers", _errors(area_code=area_code)):
            local = self._api.client.available_phone_numbers("US").local
            found = await local.list_async(limit=limit, **params)
        return [AvailableNumber(n.phone_number, n.locality, n.region) for n in found]

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
        params = _webhook_params(webhooks)
        if phone_number is not None:
            phone_number = params["phone_number"] = to_e164(phone_number)
        else:
            area_code = params["area_code"] = check_area_code(area_code or "")
        if friendly_name:
            params["friendly_name"] = friendly_name
        async with self._api.calling("buying a number", _errors(phone_number, area_code)):
            number = await self._api.client.incoming_phone_numbers.create_async(**params)
        return _owned(number)

    async def update(
        self, sid: str, *, webhooks: NumberWebhooks | None = None, friendly_name: str | None = None
    ) -> OwnedNumber:
        params = _webhook_params(webhooks) if webhooks else {}
        if friendly_name is not None:
            params["friendly_name"] = friendly_name
        async with self._api.calling("updating a number", _errors()):
            number = await self._api.client.incoming_phone_numbers(sid).update_async(**params)
        return _owned(number)

    async def find_owned(
        self, *, phone_number: str | None = None, friendly_name: str | None = None
    ) -> OwnedNumber | None:
        params: dict[str, str] = {}
        if phone_number:
            params["phone_number"] = to_e164(phone_number)
        if friendly_name:
            params["friendly_name"] = friendly_name
        if not params:
            raise RuntimeError("find_owned() needs a phone_number or a friendly_name")
        async with self._api.calling("looking up a number", _errors()):
            found = await self._api.client.incoming_phone_numbers.list_async(limit=1, **params)
        return _owned(found[0]) if found else None

    async def release(self, sid: str) -> None:
        """Give the number back; one Twilio no longer has counts as released (a retry after
        a timeout finds the first DELETE done)."""
        try:
            async with self._api.calling("releasing a number", _errors()):
                await self._api.client.incoming_phone_numbers(sid).delete_async()
        except NotFoundError:
            return
