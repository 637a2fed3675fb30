"""Twilio through the official `twilio` library and its aiohttp client. `api_url` points every
REST call, on every Twilio host, elsewhere (a Twilio-compatible API, or the tests' fake)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from inbox.providers._twilio_api import TWILIO_API_URL, TwilioApi
from inbox.providers.base import FetchedMedia, OutboundText, SendResult
from inbox.providers.twilio_numbers import TwilioNumbers
from inbox.providers.twilio_registration import TwilioRegistration

__all__ = ["TWILIO_API_URL", "TwilioProvider"]

# find_sent reads the conversation's messages newest first and stops at the first one created
# before `since`; this many is the most it reads (a busy conversation in a short window).
FIND_SENT_PAGE_SIZE = 50
FIND_SENT_MAX_MESSAGES = 200


class TwilioProvider:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_url: str = TWILIO_API_URL,
        timeout_secs: float = 15.0,
        primary_customer_profile_sid: str | None = None,
    ) -> None:
        self._api = TwilioApi(account_sid, auth_token, api_url=api_url, timeout_secs=timeout_secs)
        self.numbers = TwilioNumbers(self._api)
        self.registration = TwilioRegistration(
            self._api, primary_customer_profile_sid=primary_customer_profile_sid
        )

    async def send(self, text: OutboundText) -> SendResult:
        kwargs: dict[str, Any] = {"to": text.to, "from_": text.from_, "body": text.body}
        if text.status_callback:
            kwargs["status_callback"] = text.status_callback
        if text.media_urls:
            kwargs["media_url"] = list(text.media_urls)
        async with self._api.calling("sending a text"):
            message = await self._api.client.messages.create_async(**kwargs)
        return SendResult(sid=message.sid, status=message.status or "queued")

    async def find_sent(
        self,
        text: OutboundText,
        since: datetime,
        *,
        until: datetime | None = None,
        exclude: Collection[str] = (),
    ) -> SendResult | None:
        # No DateSent filter: a message still queued has no date_sent, and that is exactly
        # the one a timed-out send may have left behind (docs/decisions.md, "Providers").
        # Twilio's times have whole seconds: widen the window to them.
        since = since.replace(microsecond=0)
        until = (until or datetime.now(UTC)).replace(microsecond=0) + timedelta(seconds=1)
        found: SendResult | None = None
        async with self._api.calling("asking Twilio what it has"):
            messages = await self._api.client.messages.stream_async(
                to=text.to,
                from_=text.from_,
                limit=FIND_SENT_MAX_MESSAGES,
                page_size=FIND_SENT_PAGE_SIZE,
            )
            async for message in messages:  # newest first
                created = message.date_created
                if created is not None and created < since:
                    break
                if self._is(text, message, until) and message.sid not in exclude:
                    found = SendResult(sid=message.sid, status=message.status or "queued")
        return found  # the oldest match: our texts were created in the order we sent them

    @staticmethod
    def _is(text: OutboundText, message: Any, until: datetime) -> bool:
        created = message.date_created
        return (
            message.direction == "outbound-api"
            and message.body == text.body
            and message.to == text.to
            and message.from_ == text.from_
            and int(message.num_media or 0) == len(text.media_urls)
            and (created is None or created <= until)
        )

    async def fetch_media(self, url: str, max_bytes: int) -> FetchedMedia:
        data, content_type = await self._api.download(url, max_bytes)
        return FetchedMedia(data, content_type)

    async def close(self) -> None:
        await self._api.close()
