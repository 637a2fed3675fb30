"""The sandbox provider: nothing leaves the machine. Outbound texts are already stored; the
phone simulator page shows them as the customer's phone would."""

from __future__ import annotations

import uuid
from datetime import datetime

from inbox.providers.base import OutboundText, SendResult


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex  # Twilio's shape: "SM" and 32 hex digits


class SandboxProvider:
    name = "sandbox"

    async def send(self, text: OutboundText) -> SendResult:
        return SendResult(sid=new_sid(), status="delivered")

    async def find_sent(self, text: OutboundText, since: datetime) -> SendResult | None:
        return None

    async def close(self) -> None:
        return None
