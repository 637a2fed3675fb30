"""One attempt at handing a text to the provider, and the retry schedule between attempts
(the outbox keeps what an attempt came to: inbox/outbox.py). A text is never sent twice:

- an answer that proves the provider did not take it (a 4xx such as 429, a connection never
  made) allows a plain resend, after the backoff;
- an answer that leaves it open (a timeout, a broken connection, any 5xx: `SmsError.maybe_done`),
  or an attempt cut off by a process's death, puts the text *in doubt*: before sending again,
  the provider is asked for it (`find_sent`, excluding the sids known to be our other texts),
  and a text it has is adopted, not resent;
- if the provider cannot say (the look-up fails too), the text stays in doubt and is asked for
  again later; it is never sent blind."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from inbox.errors import SmsError
from inbox.providers.base import OutboundText, SendResult, SmsProvider

# No wait between attempts grows past this: two minutes keeps a text moving during a long
# outage while the retries stay a trickle.
SEND_BACKOFF_MAX_SECS = 120.0


@dataclass(frozen=True)
class Schedule:
    """When to try again: `first_backoff_secs` after the first attempt, doubling up to
    SEND_BACKOFF_MAX_SECS; after `attempts` tries the text fails."""

    first_backoff_secs: float
    attempts: int

    def wait_after(self, attempt: int) -> float:
        doubled: float = self.first_backoff_secs * 2.0 ** max(attempt - 1, 0)
        return min(doubled, SEND_BACKOFF_MAX_SECS)

    def total_secs(self) -> float:
        """The longest a text can wait between its first attempt and its last."""
        return sum(self.wait_after(n) for n in range(1, self.attempts))


@dataclass(frozen=True)
class Outcome:
    """What the provider said about one of our texts (an answer, or a status callback)."""

    message_id: int
    status: str
    provider_sid: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Tried:
    """What one attempt at a text came to."""

    message_id: int
    sent: SendResult | None = None  # the provider has it: sent now, or found
    error: SmsError | None = None  # why it did not send it
    in_doubt: bool = False  # the provider may have it anyway: ask before sending again
    final: bool = False  # the provider refused it for good (a 4xx): do not try again
    started: bool = True  # False: not tried at all (the claim would have run out first)


async def attempt(
    provider: SmsProvider,
    message_id: int,
    text: OutboundText,
    *,
    ask_first: bool,
    since: datetime,
    exclude: Collection[str] = (),
) -> Tried:
    """Try the text once: when `ask_first` (an earlier attempt may have reached the provider),
    look for it before sending."""
    if ask_first:
        try:
            found = await provider.find_sent(text, since, exclude=exclude)
        except SmsError as exc:  # it cannot say: ask again later, never send blind
            return Tried(message_id, error=exc, in_doubt=True)
        if found is not None:
            return Tried(message_id, sent=found)
    try:
        return Tried(message_id, sent=await provider.send(text))
    except SmsError as exc:
        return Tried(message_id, error=exc, in_doubt=exc.maybe_done, final=not exc.retryable)
