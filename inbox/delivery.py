"""Sending through a provider with retries that never send the same text twice: a 5xx answer
means the provider did not take the text, so it is retried; a timeout is ambiguous, so the
provider is first asked whether it has the text."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from inbox.errors import SmsError
from inbox.models import utcnow
from inbox.providers.base import OutboundText, SendResult, SmsProvider

logger = logging.getLogger(__name__)

# Backoff between attempts: 0.5 s, 1 s, 2 s, 4 s (about 7.5 s in all, under Twilio's own
# 10 s webhook patience and long enough for a brief provider outage).
SEND_ATTEMPTS = 5
FIRST_BACKOFF_SECS = 0.5
# Clock skew allowed when matching a provider's creation time against our attempt time.
CLOCK_SKEW = timedelta(minutes=2)


async def send_with_retry(
    provider: SmsProvider,
    text: OutboundText,
    *,
    attempts: int = SEND_ATTEMPTS,
    first_backoff_secs: float = FIRST_BACKOFF_SECS,
) -> SendResult:
    started = utcnow() - CLOCK_SKEW
    backoff = first_backoff_secs
    ambiguous = False
    for attempt in range(1, attempts + 1):
        try:
            if ambiguous:
                found = await provider.find_sent(text, started)
                if found is not None:
                    return found
            return await provider.send(text)
        except SmsError as exc:
            if not exc.retryable or attempt == attempts:
                raise
            ambiguous = ambiguous or exc.provider_code is None
            logger.warning("send attempt %d failed (%s); retrying", attempt, exc.message)
        await asyncio.sleep(backoff)
        backoff *= 2
    raise RuntimeError("unreachable")
