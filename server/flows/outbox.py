"""The outbox worker every process runs (README.md, "Sending"; docs/reliability.md): it claims
due texts from the store (inbox/outbox.py), hands each to the provider once (inbox/delivery.py:
asking first when an earlier attempt may have reached it), and records what came of it with
the `message.status` events that show it. A local send wakes it at once (`Services.owed`);
otherwise it looks every OUTBOX_POLL_SECS for texts other processes left: retries coming due,
and the claims of processes that died."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Sequence

from inbox import outbox
from inbox.delivery import Tried, attempt
from inbox.errors import SmsError
from inbox.models import utcnow
from inbox.outbox import Claimed
from inbox.providers.base import OutboundText
from server.config import CLAIM_MARGIN_SECS
from server.flows import media
from server.flows.sending import TWILIO_UNSUBSCRIBED, apply_outcomes, status_callback_url
from server.services import Services

logger = logging.getLogger(__name__)

# How often a process looks for texts it was not woken for: a dead process's texts wait for
# their claim to run out anyway, so a second's delay on top is nothing; the look is one read.
OUTBOX_POLL_SECS = 1.0
# Provider calls in flight at once per process: quick, yet below Twilio's default concurrency
# limits, so a bulk send does not crowd out the team's replies.
DELIVERY_CONCURRENCY = 8
# Texts claimed, and their outcomes stored, per write transaction. Replies are claimed before
# bulk texts, so a reply waits at most for the batch in flight.
DELIVERY_BATCH = 50
# Due texts, but another process claimed them first (its claim not yet committed when we read):
# look again shortly rather than at once.
CLAIM_RACE_SECS = 0.05


class OutboxWorker:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        # Names this process's claims in the store (host and pid for the operator reading it).
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.closing = False
        self.idle = asyncio.Event()
        self.idle.set()
        self._claimed_at = 0.0  # time.monotonic() when the batch in flight was claimed

    async def step(self) -> float:
        """Send one batch of due texts, if any; return how long until the next may be due."""
        if self.closing:
            return OUTBOX_POLL_SECS
        async with self.svc.db.read() as session:
            due = await outbox.next_due(session)
        now = utcnow()
        if due is None or due > now:
            return OUTBOX_POLL_SECS if due is None else (due - now).total_seconds()
        self.idle.clear()
        try:
            claimed = await self._claim()
            if claimed:
                await self._record(claimed, await self._send(claimed))
        finally:
            self.idle.set()
        return 0.0 if claimed else CLAIM_RACE_SECS

    async def drain(self, timeout_secs: float) -> None:
        """Stop claiming, and give the batch in flight this long to be recorded (what is cut off
        stays claimed: in doubt, taken over when the claim runs out)."""
        self.closing = True
        try:
            async with asyncio.timeout(timeout_secs):
                await self.idle.wait()
        except TimeoutError:
            logger.warning("stopped with texts in flight; another process will look them up")

    async def _claim(self) -> list[Claimed]:
        self._claimed_at = time.monotonic()  # before the transaction: a conservative start
        settings = self.svc.settings
        async with self.svc.db.write() as session:
            return await outbox.claim(
                session, self.token, utcnow(), settings.outbox_claim_secs, DELIVERY_BATCH
            )

    async def _send(self, claimed: Sequence[Claimed]) -> list[Tried]:
        settings = self.svc.settings
        # A send starts only if its calls end, at the provider's timeout, before the claim does.
        horizon = self._claimed_at + settings.outbox_claim_secs - CLAIM_MARGIN_SECS
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def send(c: Claimed) -> Tried:
            async with gate:
                calls = 2 if c.ask_first else 1
                if (
                    self.closing
                    or time.monotonic() + calls * settings.twilio_timeout_secs > horizon
                ):
                    return Tried(c.message_id, in_doubt=c.ask_first, started=False)
                if not c.from_:
                    error = SmsError("the inbox has no number to send from", "no_number")
                    return Tried(c.message_id, error=error, final=True)
                callback = status_callback_url(self.svc, c.callback_base, c.message_id)
                # Signed at each attempt, good long after the last (settings.media_url_secs).
                urls = [media.signed_url(self.svc, c.callback_base, key) for key in c.media_keys]
                if None in urls:
                    error = SmsError("no public URL to send the pictures from", "no_public_url")
                    return Tried(c.message_id, error=error, final=True)
                text = OutboundText(c.to, c.from_, c.body, callback, tuple(filter(None, urls)))
                tried = await attempt(
                    self.svc.provider,
                    c.message_id,
                    text,
                    ask_first=c.ask_first,
                    since=c.since,
                    exclude=c.exclude,
                )
            _log(c, tried)
            self.svc.metrics.text_handed_over(_result(tried))
            return tried

        return list(await asyncio.gather(*(send(c) for c in claimed)))

    async def _record(self, claimed: Sequence[Claimed], tried: Sequence[Tried]) -> None:
        unsubscribed = [
            c.conversation
            for c, t in zip(claimed, tried, strict=True)
            if t.final and t.error is not None and t.error.provider_code == TWILIO_UNSUBSCRIBED
        ]
        async with self.svc.db.write() as session:
            outcomes = await outbox.settle(
                session, self.token, tried, utcnow(), self.svc.settings.send_schedule
            )
            events = await apply_outcomes(session, outcomes, unsubscribed)
        await self.svc.announce(*events)


def _result(tried: Tried) -> str:
    if tried.sent is not None:
        return "sent"
    return "failed" if tried.final else "retry"


def _log(c: Claimed, tried: Tried) -> None:
    """Ids and Twilio's words only: never a body or a number."""
    if tried.error is None:
        return
    logger.warning(
        "message %d, attempt %d: %s%s",
        c.message_id,
        c.attempt,
        tried.error.message,
        " (in doubt: the provider will be asked first)" if tried.in_doubt else "",
    )
