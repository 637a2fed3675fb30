"""The one inbound flow, for Twilio's webhook and the sandbox's phone simulator alike: store the
text once per MessageSid with its event, decide in the same transaction what it sets off (opt-out
keywords STOP/START, the HELP answer, the away message, each reply queued in the outbox there
too), announce, and answer. Deciding inside the transaction means two texts racing cannot both
get the away message.

Texts that arrive while one write is running go together in the next one (server/batches.py):
one transaction, one bump of each team's event counter and one doorbell for all of them, and
each text is answered once that transaction has committed (docs/performance.md, "Ingest").

Unsolicited texts (a customer writing first: a new conversation) follow the inbox's handling:
on `agent` with named receivers the conversation is assigned to one of them as it is made
(inbox/inbound.py), in the same transaction, so its first event names the assignee; on `bot` it
stays unassigned for the bot the inbox names (bots/rules.py). An inbox with automatic assignment
on (inbox/assignment.py) gives an open, unassigned conversation that gets a text to an online
member instead, in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import assignment, away, conversations, numbers, optout
from inbox.errors import InboxError
from inbox.inbound import InboundText, Stored, receive_inbound
from inbox.memberships import member_ids
from inbox.models import Conversation, EventRecord, Inbox, Message
from inbox.phones import to_e164
from server.batches import Batcher
from server.flows.assignment import online_for
from server.flows.events import (
    append_access_changed,
    append_conversation_updated,
    append_messages_created,
)
from server.flows.sending import queue_automatic
from server.services import Services

logger = logging.getLogger(__name__)

# Texts per transaction at most: a burst's batches stay short (a write holds the store's lock,
# and on PostgreSQL every process's writers wait for it), and 16 in flight fit in one.
MAX_BATCH_TEXTS = 64


@dataclass(frozen=True)
class _Arrival:
    text: InboundText
    callback_base: str  # where status callbacks of its automatic reply go (no public URL set)


async def receive(
    svc: Services,
    *,
    to: str,
    from_: str,
    body: str,
    provider_sid: str,
    callback_base: str,
    media_urls: Sequence[str] = (),
    media_types: Sequence[str | None] = (),
) -> Message:
    """Store an inbound text and set off what it should; return the stored message (the
    earlier one for a repeated MessageSid, which sets nothing off again)."""
    text = InboundText(
        to_e164(to), to_e164(from_), body, provider_sid, tuple(media_urls), tuple(media_types)
    )
    return await _intake(svc).submit(_Arrival(text, callback_base))


def _intake(svc: Services) -> Batcher[_Arrival, Message]:
    """This process's batcher of inbound texts."""
    found = svc.batchers.get(__name__)
    if found is None:
        found = svc.batchers[__name__] = Batcher(
            "inbound", partial(_store_all, svc), svc.spawn, MAX_BATCH_TEXTS
        )
    return found


async def _store_all(svc: Services, arrivals: list[_Arrival]) -> list[Message | Exception]:
    try:
        return await _store(svc, arrivals, more=True)
    except Exception as exc:
        if len(arrivals) == 1 or _store_failed(exc):
            # The store cannot take any of them now: each webhook tries once more on a fresh
            # connection, then is kept (flows/spooling.py).
            raise
        # Something of one text failed the whole transaction: each alone, so only it fails.
        logger.warning("a batch of %d texts failed; storing each alone", len(arrivals))
        results: list[Message | Exception] = []
        for arrival in arrivals:
            try:
                results += await _store(svc, [arrival])
            except Exception as exc:
                results.append(exc)
        return results


def _store_failed(exc: Exception) -> bool:
    """Whether the store itself failed (locked, unreachable, its connection dropped), not
    something of one text."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


async def _store(
    svc: Services, arrivals: list[_Arrival], more: bool = False
) -> list[Message | Exception]:
    """Store the arrivals in one transaction; with `more`, also the texts that arrived while it
    waited for the write lock (appended to `arrivals`): with two processes taking turns on the
    lock, each batch was otherwise what had arrived before the wait, a few texts."""
    events: list[EventRecord] = []
    replies = 0
    # Who is online, for automatic assignment: read before the write transaction.
    online = {to: await online_for(svc, to) for to in sorted({a.text.to for a in arrivals})}
    async with svc.db.write() as session:
        if more:
            _intake(svc).take_more(arrivals)
            for to in sorted({a.text.to for a in arrivals} - online.keys()):
                online[to] = await online_for(svc, to)  # a number the first ones did not reach
        results = await receive_inbound(
            session, [a.text for a in arrivals], timedelta(days=svc.settings.thread_days)
        )
        created = [
            (s, a)
            for s, a in zip(results, arrivals, strict=True)
            if isinstance(s, Stored) and s.created
        ]
        await _assign(session, created, online)
        # Each number reached: its idle time starts again (auto-release).
        await numbers.mark_all_used(
            session, {arrival.text.to: stored.message.created_at for stored, arrival in created}
        )
        for stored, _ in created:
            if stored.new_mailroom is not None:  # its members gain access before the text
                events += await _mailroom_access(session, stored.new_mailroom)
        for team_id in sorted({s.inbox.team_id for s, _ in created}):
            events += await append_messages_created(
                session,
                team_id,
                [(s.message, s.conversation) for s, _ in created if s.inbox.team_id == team_id],
                None,
                {s.message.id or 0: s.attachments for s, _ in created},
            )
        for stored, arrival in created:
            reply = await _follow_up(svc, session, stored, arrival.callback_base, events)
            replies += reply
    await svc.announce(*events)
    if replies:
        svc.owed.set()
    return [r if isinstance(r, InboxError) else r.message for r in results]


async def _assign(
    session: AsyncSession,
    created: list[tuple[Stored, _Arrival]],
    online: dict[str, frozenset[int]],
) -> None:
    """Automatic assignment of the batch's conversations, and no wait for a person after a
    STOP; every text's view of its conversation says so, for its event."""
    newest: dict[int, Conversation] = {}  # each conversation as the batch's last text left it
    reached: dict[int, str] = {}  # the number its texts reached
    for stored, arrival in created:
        newest[stored.conversation.id or 0] = stored.conversation
        reached[stored.conversation.id or 0] = arrival.text.to
    inbox_of = {s.conversation.id or 0: s.inbox for s, _ in created}
    assigned: dict[int, int] = {}
    for conversation_id, conversation in newest.items():
        online_here = online[reached[conversation_id]]
        if not assignment.may_assign(inbox_of[conversation_id], online_here):
            continue  # nobody to choose: asked of the batch's view, before the inbox is loaded
        assigned |= await assignment.assign_arrivals(session, [conversation], online_here)
    stopped = {
        s.conversation.id or 0
        for s, _ in created
        if optout.keyword_action(s.message.body) == "stop"
    }
    if stopped:
        await conversations.stop_waiting(session, stopped)  # nobody is to answer a STOP
    for stored, _ in created:
        changes: dict[str, Any] = {}
        conversation_id = stored.conversation.id or 0
        if conversation_id in assigned:
            changes["assignee_id"] = assigned[conversation_id]
        if conversation_id in stopped:
            changes["waiting_since"] = None
        if changes:
            stored.conversation = _changed(stored.conversation, changes)


def _changed(view: Conversation, changes: dict[str, Any]) -> Conversation:
    """A view of a conversation's row with `changes` (views are built from rows, not loaded)."""
    names = Conversation.metadata.tables["conversation"].c.keys()
    columns = {name: getattr(view, name) for name in names}
    return Conversation.model_construct(**(columns | changes))


async def _mailroom_access(session: AsyncSession, mailroom: Inbox) -> list[EventRecord]:
    assert mailroom.id is not None
    members = sorted(await member_ids(session, mailroom.id))
    return await append_access_changed(session, mailroom.team_id, members)


async def _follow_up(
    svc: Services,
    session: AsyncSession,
    stored: Stored,
    callback_base: str,
    events: list[EventRecord],
) -> int:
    """What the text sets off, in its transaction; the automatic replies it queued (0 or 1)."""
    inbox, conversation = stored.inbox, stored.conversation
    assert inbox.id is not None and conversation.id is not None
    action = optout.keyword_action(stored.message.body)
    if action == "stop":
        if await optout.opt_out(session, inbox.id, conversation.counterparty):
            events.append(await append_conversation_updated(session, conversation))
        return 0
    if action == "start":
        if await optout.opt_in(session, inbox.id, conversation.counterparty):
            events.append(await append_conversation_updated(session, conversation))
        return 0
    if action == "help":
        body, help_answer = optout.help_text(inbox), True
    else:
        period = away.away_period(inbox, svc.settings.clock())
        if period is None or not await conversations.start_away_period(
            session, conversation.id, period
        ):
            return 0
        body, help_answer = inbox.away_message, False
    created = await queue_automatic(session, conversation.id, body, help_answer, callback_base)
    if created is None:
        return 0
    events.append(created)
    return 1
