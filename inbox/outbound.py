"""The outbound path in the store, one for every kind of send (a reply, an automatic answer, a
bulk send): whether an inbox may send, queueing one text per conversation (its message and,
in the same transaction, what the outbox owes: inbox/outbox.py), and recording what the
provider said about each. Functions run in the caller's write transaction; the caller appends
the events (server/flows/events.py) and wakes the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import allowance, attachments, outbox, report_days
from inbox.conversations import get_or_create_many
from inbox.delivery import Outcome
from inbox.errors import ConflictError, ForbiddenError, InboxError, InvalidInputError
from inbox.messages import new_message, validate_body
from inbox.models import (
    Conversation,
    Inbox,
    Message,
    OptOut,
    PhoneNumber,
    ResponseTime,
    User,
    utcnow,
)
from inbox.numbers import mark_used
from inbox.segments import segment_count

# Every status Twilio's Message resource documents, in the order Twilio moves through them;
# callbacks arrive out of order, so a status only ever moves to a higher rank. Final states
# share the top rank but for "read", which follows "delivered" (RCS, WhatsApp) and so may
# follow any of them; a scheduled text that is canceled never leaves, so that is final too.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 4,
    "partially_delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


@dataclass
class Queued:
    """One recipient of a send: its conversation and new message, or why it gets none."""

    number: str
    conversation: Conversation | None = None
    message: Message | None = None
    refused: InboxError | None = None


async def check_can_send(session: AsyncSession, inbox: Inbox) -> None:
    """Not archived, with a number, and that number registered with carriers (in the team's
    A2P campaign: inbox/registrations.py)."""
    if inbox.archived_at is not None:
        raise ConflictError(
            f"{inbox.name} is archived: its conversations are read-only", "archived"
        )
    if inbox.phone_number is None:
        raise ConflictError("this inbox has no number to send from; move it first", "no_number")
    registered = await session.scalar(
        select(col(PhoneNumber.registered)).where(col(PhoneNumber.number) == inbox.phone_number)
    )
    if inbox.registration != "registered" or not registered:
        raise ForbiddenError(
            f"{inbox.phone_number} is not registered with carriers yet and cannot send",
            "not_registered",
        )


def _opted_out(number: str) -> ConflictError:
    return ConflictError(f"{number} has opted out (STOP)", "opted_out")


async def _opted_out_among(session: AsyncSession, inbox_id: int, numbers: list[str]) -> set[str]:
    if not numbers:
        return set()
    rows = await session.scalars(
        select(col(OptOut.number)).where(
            col(OptOut.inbox_id) == inbox_id, col(OptOut.number).in_(numbers)
        )
    )
    return set(rows)


async def queue(
    session: AsyncSession,
    inbox: Inbox,
    sender: User | None,
    body: str,
    conversations: Sequence[Conversation],
    *,
    automatic: bool = False,
    help_answer: bool = False,
    callback_base: str | None = None,
    bulk: bool = False,
    media_ids: Sequence[int] = (),
) -> list[Queued]:
    """Store `body` as a `queued` text in each conversation of `inbox` that may get it, owed to
    the provider by the outbox; the others are refused (read-only, opted out). A `help_answer`
    may reach an opted-out number (carriers require HELP to be answered). `callback_base`: where
    the provider's status callbacks go when no public URL is set. `media_ids`: the sender's
    uploads the text carries (one conversation only; its body may then be empty)."""
    if media_ids and len(conversations) != 1:
        raise RuntimeError("Cannot attach media to more than one text.")
    body = validate_body(body, allow_empty=bool(media_ids))
    await check_can_send(session, inbox)
    assert inbox.id is not None
    numbers = [c.counterparty for c in conversations]
    opted = set() if help_answer else await _opted_out_among(session, inbox.id, numbers)
    now = utcnow()
    results = []
    for c in conversations:
        result = Queued(c.counterparty, c)
        if c.read_only:
            result.refused = ConflictError(
                "this conversation is read-only: the contact's number changed", "read_only"
            )
        elif c.counterparty in opted:
            result.refused = _opted_out(c.counterparty)
        results.append(result)
    await _charge(
        session,
        inbox.team_id,
        body,
        [r for r in results if r.refused is None],
        now,
        exempt=automatic or help_answer,
    )
    for result in results:
        if result.refused is not None:
            continue
        conversation = result.conversation
        assert conversation is not None
        result.message = new_message(
            conversation,
            "outbound",
            body,
            "queued",
            now,
            sender_id=sender.id if sender else None,
            automatic=automatic,
        )
        result.message.bulk = bulk
        conversation.last_message_at = now
        session.add(conversation)
    queued = [r.message for r in results if r.message is not None]
    if queued:
        await mark_used(session, inbox.phone_number, now)
    session.add_all(queued)
    await session.flush()
    for message in queued:
        await attachments.attach(session, message, sender.id if sender else None, media_ids)
    tally = report_days.Tally()
    for message in queued:
        tally.add(inbox.id, now, message.sender_id, texts_out=1, segments=message.segments)
    if not (automatic or bulk) and sender is not None and sender.role != "bot":
        replies = [r for r in results if r.message is not None]
        await _answered(session, replies, sender, now, inbox.sla_minutes, tally)
    await report_days.count(session, tally)
    outbox.add(session, queued, now, callback_base=callback_base, bulk=bulk)
    await session.flush()
    return results


async def _charge(
    session: AsyncSession,
    team_id: int,
    body: str,
    wanted: Sequence[Queued],
    now: datetime,
    *,
    exempt: bool,
) -> None:
    """Count the texts against the team's allowance (inbox/allowance.py); those past a
    refusing allowance are refused `quota_exhausted` (the first ones go)."""
    if not wanted:
        return
    charged = await allowance.charge(
        session, team_id, len(wanted), segment_count(body)[0], now, exempt=exempt
    )
    for result in wanted[charged.allowed :]:
        result.refused = ConflictError(
            "the team's outgoing allowance for this month is used up; an admin can raise it",
            "quota_exhausted",
        )


async def _answered(
    session: AsyncSession,
    replies: Sequence[Queued],
    sender: User,
    now: datetime,
    sla_minutes: float | None,
    tally: report_days.Tally,
) -> None:
    """A person replied: each waiting customer's wait ends, and is recorded for the reports."""
    assert sender.id is not None
    for reply in replies:
        conversation, message = reply.conversation, reply.message
        assert conversation is not None and message is not None and message.id is not None
        if conversation.waiting_since is None:
            continue
        assert conversation.id is not None
        answered_before = await session.scalar(
            select(col(ResponseTime.message_id))
            .where(col(ResponseTime.conversation_id) == conversation.id)
            .limit(1)
        )
        session.add(
            ResponseTime(
                message_id=message.id,
                conversation_id=conversation.id,
                inbox_id=conversation.inbox_id,
                user_id=sender.id,
                started_at=conversation.waiting_since,
                answered_at=now,
                first=answered_before is None,
            )
        )
        started = conversation.waiting_since
        tally.wait(conversation.inbox_id, sender.id, started, now, answered_before is None)
        if answered_before is None and report_days.is_late(started, now, sla_minutes):
            tally.add(conversation.inbox_id, started, sender.id, first_late=1)
        conversation.waiting_since = None
        session.add(conversation)
    await session.flush()


async def queue_to_numbers(
    session: AsyncSession,
    inbox: Inbox,
    sender: User,
    body: str,
    numbers: Sequence[str],
    *,
    callback_base: str | None = None,
) -> list[Queued]:
    """`queue` to distinct E.164 numbers, each in its own conversation (made when there is
    none, but not for a number that opted out)."""
    body = validate_body(body)
    await check_can_send(session, inbox)
    assert inbox.id is not None
    opted = await _opted_out_among(session, inbox.id, list(numbers))
    wanted = [n for n in numbers if n not in opted]
    found = await get_or_create_many(session, inbox, wanted) if wanted else {}
    found_conversations = list(found.values())
    queued = {
        q.number: q
        for q in await queue(
            session,
            inbox,
            sender,
            body,
            found_conversations,
            callback_base=callback_base,
            bulk=True,
        )
    }
    return [queued.get(n) or Queued(n, refused=_opted_out(n)) for n in numbers]


async def record_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> list[Message]:
    """Apply what the provider said: a status only moves forward (STATUS_RANK), and the
    provider's id is kept once known (a sid another of our messages holds is not taken: one
    text has one message), which settles the text in the outbox. Return the messages that
    changed."""
    for outcome in outcomes:
        if outcome.status not in STATUS_RANK:
            raise InvalidInputError(f"unknown message status {outcome.status!r}")
    if not outcomes:
        return []
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.id).in_({o.message_id for o in outcomes}),
            col(Message.direction) == "outbound",  # only our texts have a delivery status
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    by_id = {m.id: m for m in rows}
    sids = {o.provider_sid for o in outcomes if o.provider_sid is not None}
    rows_by_sid = await session.execute(
        select(col(Message.provider_sid), col(Message.id)).where(
            col(Message.provider_sid).in_(sids)
        )
    )
    held = {sid: message_id for sid, message_id in rows_by_sid}
    changed: dict[int, Message] = {}
    now = utcnow()
    for outcome in outcomes:
        message = by_id.get(outcome.message_id)
        if message is None:
            continue
        moved = False
        if STATUS_RANK[outcome.status] > STATUS_RANK.get(message.status, len(STATUS_RANK)):
            message.status = outcome.status
            if outcome.error_code is not None:
                message.error_code = outcome.error_code
                message.error_message = outcome.error_message
            moved = True
        sid = outcome.provider_sid
        if (
            sid is not None
            and message.provider_sid is None
            and held.get(sid, message.id) == message.id
        ):
            # The provider's id is news too: the text has left us, even if its status is the same.
            message.provider_sid = sid
            held[sid] = outcome.message_id
            moved = True
        if moved:
            message.updated_at = now
            changed[outcome.message_id] = message
    await session.flush()
    await outbox.forget(session, [m.id for m in by_id.values() if m.id and m.provider_sid])
    return list(changed.values())
