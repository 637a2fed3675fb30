"""The sandbox provider: nothing leaves the machine. Outbound texts are already stored; the
phone simulator page shows them as the customer's phone would. Numbers and registration are
invented (sandbox_numbers.py, sandbox_registration.py)."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from inbox.errors import MediaGoneError
from inbox.providers.base import FetchedMedia, OutboundText, SendResult
from inbox.providers.sandbox_numbers import SandboxNumbers
from inbox.providers.sandbox_registration import REVIEW_SECS, SandboxRegistration

# The texts find_sent can find: enough for any retry window, bounded for a long demo.
SENT_KEPT = 10_000


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex  # Twilio's shape: "SM" and 32 hex digits


@dataclass(frozen=True)
class _Sent:
    sid: str
    text: OutboundText
    at: datetime


class SandboxProvider:
    name = "sandbox"

    def __init__(self, *, registration_review_secs: float = REVIEW_SECS) -> None:
        self.numbers = SandboxNumbers()
        self.registration = SandboxRegistration(self.numbers, review_secs=registration_review_secs)
        self._sent: deque[_Sent] = deque(maxlen=SENT_KEPT)

    async def send(self, text: OutboundText) -> SendResult:
        sent = _Sent(new_sid(), text, datetime.now(UTC))
        self._sent.append(sent)
        return SendResult(sid=sent.sid, status="delivered")

    async def find_sent(
        self,
        text: OutboundText,
        since: datetime,
        *,
        until: datetime | None = None,
        exclude: Collection[str] = (),
    ) -> SendResult | None:
        until = until or datetime.now(UTC)
        for sent in self._sent:  # oldest first
            # The media count, as Twilio's look-up: each attempt signs its media URLs anew.
            same = (sent.text.to, sent.text.from_, sent.text.body, len(sent.text.media_urls)) == (
                text.to,
                text.from_,
                text.body,
                len(text.media_urls),
            )
            if same and since <= sent.at <= until and sent.sid not in exclude:
                return SendResult(sid=sent.sid, status="delivered")
        return None

    async def fetch_media(self, url: str, max_bytes: int) -> FetchedMedia:
        # The phone simulator sends words only: no sandbox text has media to fetch.
        raise MediaGoneError("the sandbox keeps no media")

    async def close(self) -> None:
        return None
