"""Twilio through the official `twilio` library and its aiohttp client. `api_url` points every
REST call elsewhere (a Twilio-compatible API, or the tests' fake)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from inbox.errors import SmsError
from inbox.providers.base import OutboundText, SendResult

TWILIO_API_URL = "https://api.twilio.com"


# The twilio library logs every request and answer at INFO (URLs with phone numbers and SIDs,
# every header); nothing at INFO may carry customers' numbers or texts, so its log only speaks
# from WARNING on.
_WIRE_LOG = logging.getLogger(f"{__name__}.wire")
_WIRE_LOG.setLevel(logging.WARNING)


class TwilioProvider:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_url: str = TWILIO_API_URL,
        timeout_secs: float = 15.0,
    ) -> None:
        # No retries of its own (a retry could send twice), and its logging quietened.
        self._http = AsyncTwilioHttpClient(logger=_WIRE_LOG)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._client.api.base_url = api_url.rstrip("/")
        self._timeout = timeout_secs

    async def send(self, text: OutboundText) -> SendResult:
        kwargs: dict[str, object] = {"to": text.to, "from_": text.from_, "body": text.body}
        if text.status_callback:
            kwargs["status_callback"] = text.status_callback
        if text.media_urls:
            kwargs["media_url"] = list(text.media_urls)
        try:
            message = await asyncio.wait_for(
                self._client.messages.create_async(**kwargs), self._timeout
            )
        except TwilioRestException as exc:
            raise SmsError(
                exc.msg, str(exc.code) if exc.code else None, retryable=exc.status >= 500
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SmsError(f"Twilio did not answer: {exc!r}", retryable=True) from exc
        return SendResult(sid=message.sid, status=message.status or "queued")

    async def find_sent(self, text: OutboundText, since: datetime) -> SendResult | None:
        try:
            found = await asyncio.wait_for(
                self._client.messages.list_async(to=text.to, from_=text.from_, limit=50),
                self._timeout,
            )
        except (TwilioRestException, TimeoutError, aiohttp.ClientError) as exc:
            raise SmsError(f"could not ask Twilio what it has: {exc!r}", retryable=True) from exc
        for message in found:
            created = message.date_created
            if message.body == text.body and (created is None or created >= since):
                return SendResult(sid=message.sid, status=message.status or "queued")
        return None

    async def close(self) -> None:
        await self._http.close()
