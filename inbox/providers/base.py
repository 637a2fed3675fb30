"""The SMS provider protocol: what `server/` needs from Twilio or the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundText:
    to: str
    from_: str
    body: str
    status_callback: str | None = None
    media_urls: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SmsProvider(Protocol):
    name: str

    async def send(self, text: OutboundText) -> SendResult:
        """Hand the text to the carrier; raise `SmsError` (retryable for 5xx and timeouts)."""
        ...

    async def find_sent(self, text: OutboundText, since: datetime) -> SendResult | None:
        """The text if the provider already has it (a timed-out send may have gone through)."""
        ...

    async def close(self) -> None: ...
