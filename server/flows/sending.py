"""The one send path (README.md, "Locks": "Sends are fenced"; "Sending"): a reply from REST or
the socket, an automatic answer and a bulk send all store their texts through
`inbox/outbound.py` with their events and the outbox rows that owe them to the provider, in one
transaction; after commit they wake this process's outbox worker (flows/outbox.py), which
hands them over; what the provider says, as an answer or a status callback, is recorded
through `record`.

A reply is stored only if, at that moment, the sender holds the conversation's lock or nobody
does (then the sender takes it). We check in Redis *inside* the send's write transaction and
then write a fencing token onto the conversation row in that same transaction:

1. The transaction first locks the team row (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the
   whole database), so a team's sends are serialised around the check. (Lock commands do not
   take it: they are one script in Redis, their events written after; flows/locks.py.)
2. The acquire script (take if free, extend if ours, refuse if another user's) returns the
   lock's fencing token. Tokens only grow per conversation (microsecond clock, kept above the
   last one handed out), so a newer holder always has a larger token.
3. `UPDATE conversation SET lock_fence = token WHERE id = ? AND lock_fence <= token` in the
   same transaction as the message insert. Once a newer holder's reply is stored, an older
   holder's token can never pass again, whatever the delays between Redis and the store.

Why not the Redis check alone: the check and the INSERT are two systems, and a process can
stall between them (GC pause, slow disk) while its lock lapses and another user takes it and
replies. Why not the fence alone: a lapsed holder who never sent would pass until the new
holder sent. Together, every stored reply was made by the holder at the time of its check, and
replies are stored in holder order. The traffic cop (unseen inbound messages) rides along."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import attachments, conversations, messages, optout, outbound
from inbox.accounts import lock_team
from inbox.delivery import Outcome
from inbox.errors import InboxError
from inbox.models import Conversation, EventRecord, Inbox, Message, User
from inbox.views import message_view
from presence.errors import ConversationLockedError, PresenceError
from presence.locks import Claim
from server.flows.events import (
    append_allowance,
    append_conversation_updated,
    append_lock_acquired,
    append_lock_confirmed,
    append_lock_released,
    append_message_created,
    append_message_statuses,
)
from server.flows.locks import holder_of
from server.services import Services

logger = logging.getLogger(__name__)

# Twilio's "Attempt to send to unsubscribed recipient": the number texted STOP to Twilio itself.
TWILIO_UNSUBSCRIBED = "21610"


@dataclass(frozen=True)
class Sent:
    message: dict[str, Any]  # the stored message's view
    # Inbound messages that arrived after the sender last viewed the conversation (the traffic
    # cop): the text is sent anyway, and the UI warns.
    unseen_messages: list[int]


async def send_text(
    svc: Services,
    user: User,
    conversation_id: int,
    visible: set[int],
    body: Any,
    *,
    callback_base: str,
    seen_message_id: int | None = None,
    media_ids: Any = None,
) -> Sent:
    """Send `body` in the conversation as `user`, fenced by the conversation's lock: refused
    (ConversationLockedError) when another user holds it; taken when free. `media_ids`: the
    caller's uploads it carries (server/flows/media.py), pictures sent by MMS."""
    media = attachments.media_ids(media_ids)
    body = messages.validate_body(body, allow_empty=bool(media))
    assert user.id is not None
    if seen_message_id is None:
        seen_message_id = await svc.presence.seen(user.id, conversation_id)
    claim = None
    try:
        async with svc.db.write() as session:  # fenced: the check and the store in one
            conversation = await conversations.get_conversation(session, conversation_id, visible)
            await lock_team(session, conversation.team_id)
            claim = await svc.locks.acquire(
                conversation_id, conversation.team_id, conversation.inbox_id, holder_of(user)
            )
            lock_events = await _fence(svc, session, conversation, claim)
            unseen = await messages.unseen_inbound(session, conversation_id, seen_message_id)
            message, created = await _queue_one(
                session, conversation, user, body, callback_base=callback_base, media_ids=media
            )
            counted = await append_allowance(session, conversation.team_id, message.created_at)
            carried = (await attachments.of_messages(session, [message.id])).get(message.id or 0)
    except (InboxError, PresenceError):
        if claim is not None and claim.fresh:  # the lock.acquired event was rolled back too
            await svc.locks.release(conversation_id, claim.lock.team_id, user.id, "released")
        raise
    await svc.announce(*lock_events, created, *counted)
    assert message.id is not None
    await svc.presence.mark_seen(user.id, conversation_id, message.id)
    svc.owed.set()
    return Sent(message_view(message, user, attachments=carried or []), unseen)


async def _queue_one(
    session: AsyncSession,
    conversation: Conversation,
    sender: User | None,
    body: str,
    *,
    automatic: bool = False,
    help_answer: bool = False,
    callback_base: str | None = None,
    media_ids: Sequence[int] = (),
) -> tuple[Message, EventRecord]:
    """Queue one text in the conversation; its refusal (read-only, opted out) is raised."""
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None
    (queued,) = await outbound.queue(
        session,
        inbox,
        sender,
        body,
        [conversation],
        automatic=automatic,
        help_answer=help_answer,
        callback_base=callback_base,
        media_ids=media_ids,
    )
    if queued.refused is not None:
        raise queued.refused
    assert queued.message is not None
    return queued.message, await append_message_created(
        session, queued.message, conversation, sender
    )


async def _fence(
    svc: Services, session: AsyncSession, conversation: Conversation, claim: Claim
) -> list[EventRecord]:
    """Inside the send's write transaction, under the team lock, with the lock just taken or
    extended: fence the row with its token, and log the claim's events there too (a lapsed
    holder's release, then the new hold)."""
    assert conversation.id is not None
    if not await conversations.fence(session, conversation.id, claim.lock.token):
        # a newer holder's reply is already stored
        current = await svc.locks.get(conversation.id)
        raise ConversationLockedError(conversation.id, current.holder if current else None)
    records = []
    if claim.lapsed is not None:
        records.append(await append_lock_released(session, claim.lapsed))
    if claim.fresh:
        records.append(await append_lock_acquired(session, claim.lock))
    elif claim.answered_prompt:  # a reply is an answer to the idle prompt
        records.append(await append_lock_confirmed(session, claim.lock))
    return records


async def queue_automatic(
    session: AsyncSession, conversation_id: int, body: str, help_answer: bool, callback_base: str
) -> EventRecord | None:
    """Queue a system text (no sender, `automatic`: an away message or a HELP answer) in the
    caller's transaction: its `message.created`, or None when the conversation may not get it."""
    await session.flush()  # what the session holds is written before the row is read afresh
    conversation = await session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        return None
    try:
        _, created = await _queue_one(
            session,
            conversation,
            None,
            body,
            automatic=True,
            help_answer=help_answer,
            callback_base=callback_base,
        )
    except InboxError as exc:  # refused before anything was written
        logger.info("automatic reply in %d not sent: %s", conversation_id, exc.message)
        return None
    return created


def status_callback_url(svc: Services, callback_base: str | None, message_id: int) -> str | None:
    """Where the provider reports the text's delivery: the public URL, else the address the
    send came in at; None when neither is known (a text queued before the outbox existed)."""
    base = svc.settings.public_url or (callback_base or "").rstrip("/")
    return f"{base}/webhooks/twilio/status?message_id={message_id}" if base else None


async def record(
    svc: Services, outcomes: Sequence[Outcome], unsubscribed: Sequence[Conversation] = ()
) -> None:
    """Store what the provider said about our texts (its answers, or status callbacks), and
    record as ours the opt-outs it reported (`unsubscribed`), each shown as it changes."""
    if not outcomes:
        return
    async with svc.db.write() as session:
        events = await apply_outcomes(session, outcomes, unsubscribed)
    await svc.announce(*events)


async def apply_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], unsubscribed: Sequence[Conversation] = ()
) -> list[EventRecord]:
    """`record` inside the caller's write transaction; the events to announce after commit."""
    changed = await outbound.record_outcomes(session, outcomes)
    events: list[EventRecord] = []
    for team_id in sorted({m.team_id for m in changed}):
        events += await append_message_statuses(
            session, team_id, [m for m in changed if m.team_id == team_id]
        )
    for conversation in unsubscribed:
        if await optout.opt_out(session, conversation.inbox_id, conversation.counterparty):
            events.append(await append_conversation_updated(session, conversation))
    return events
