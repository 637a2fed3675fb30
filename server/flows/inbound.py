"""The one inbound flow, for Twilio's webhook and the sandbox's phone simulator alike: store the
text once per MessageSid with its event, decide in the same transaction what it sets off (opt-out
keywords STOP/START, the HELP answer, the away message), announce, and send the replies after
the answer. Deciding inside the transaction means two texts racing cannot both get the away
message.

Unsolicited texts (a customer writing first: a new conversation) follow the inbox's handling:
on `agent` with named receivers the conversation is assigned to one of them
(inbox/inboxes.py, `unsolicited_receiver`), in the same transaction, so its first event names
the assignee; on `bot` it stays unassigned for the bot the inbox names (bots/rules.py). An
inbox with automatic assignment on (inbox/assignment.py) gives an open, unassigned
conversation that gets a text to an online member instead, in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import assignment, away, inboxes, messages, optout
from inbox.memberships import member_ids
from inbox.models import Conversation, EventRecord, Inbox, Message
from server.flows.assignment import online_for
from server.flows.events import (
    append_access_changed,
    append_conversation_updated,
    append_message_created,
)
from server.flows.sending import send_automatic
from server.services import Services


@dataclass
class AutoReply:
    conversation_id: int
    body: str
    help_answer: bool = False


@dataclass
class FollowUp:
    events: list[EventRecord] = field(default_factory=list)
    replies: list[AutoReply] = field(default_factory=list)


async def receive(
    svc: Services,
    *,
    to: str,
    from_: str,
    body: str,
    provider_sid: str,
    callback_base: str,
    media_urls: Sequence[str] = (),
) -> Message:
    """Store an inbound text and set off what it should; return the stored message (the
    earlier one for a repeated MessageSid, which sets nothing off again)."""
    online = await online_for(svc, to)  # presence, read before the write transaction
    async with svc.db.write() as session:
        stored = await messages.receive_inbound(
            session,
            to=to,
            from_=from_,
            body=body,
            provider_sid=provider_sid,
            media_urls=media_urls,
        )
        follow = FollowUp()
        if stored.created:
            if stored.new_mailroom is not None:  # its members gain access before the text
                follow.events += await _mailroom_access(session, stored.new_mailroom)
            if stored.new_conversation:
                await _route_unsolicited(session, stored.conversation)
            await assignment.assign_arrivals(session, [stored.conversation], online)
            if optout.keyword_action(stored.message.body) == "stop":
                stored.conversation.waiting_since = None  # nobody is to answer a STOP
            follow.events.append(
                await append_message_created(session, stored.message, stored.conversation, None)
            )
            await _follow_up(svc, session, stored, follow)
    await svc.announce(*follow.events)
    for reply in follow.replies:
        svc.spawn(
            send_automatic(
                svc, reply.conversation_id, reply.body, reply.help_answer, callback_base
            ),
            name=f"auto-{reply.conversation_id}",
        )
    return stored.message


async def _route_unsolicited(session: AsyncSession, conversation: Conversation) -> None:
    inbox = await session.get(Inbox, conversation.inbox_id)
    if inbox is not None and inbox.assignment == "off" and conversation.assignee_id is None:
        conversation.assignee_id = await inboxes.unsolicited_receiver(session, inbox)
        session.add(conversation)


async def _mailroom_access(session: AsyncSession, mailroom: Inbox) -> list[EventRecord]:
    assert mailroom.id is not None
    members = sorted(await member_ids(session, mailroom.id))
    return await append_access_changed(session, mailroom.team_id, members)


async def _follow_up(
    svc: Services, session: AsyncSession, stored: messages.Stored, follow: FollowUp
) -> None:
    conversation = stored.conversation
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None and inbox.id is not None and conversation.id is not None
    action = optout.keyword_action(stored.message.body)
    if action == "stop":
        if await optout.opt_out(session, inbox.id, conversation.counterparty):
            follow.events.append(await append_conversation_updated(session, conversation))
        return
    if action == "start":
        if await optout.opt_in(session, inbox.id, conversation.counterparty):
            follow.events.append(await append_conversation_updated(session, conversation))
        return
    if action == "help":
        follow.replies.append(AutoReply(conversation.id, optout.help_text(inbox), True))
        return
    period = away.away_period(inbox, svc.settings.clock())
    if period is not None and conversation.away_period != period:
        conversation.away_period = period
        session.add(conversation)
        follow.replies.append(AutoReply(conversation.id, inbox.away_message))
