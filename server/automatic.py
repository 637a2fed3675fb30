"""What an inbound text sets off besides itself: opt-out keywords (STOP, START, HELP) and the
away message. The decisions are made inside the webhook's transaction, so two texts racing
cannot both get the away message; the replies are sent after the webhook is answered."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import away, messages, optout
from inbox.errors import InboxError
from inbox.models import Conversation, EventRecord, Inbox
from inbox.triage import conversation_updated
from server.sending import deliver
from server.state import Services

logger = logging.getLogger(__name__)


@dataclass
class AutoReply:
    conversation_id: int
    body: str
    help_answer: bool = False


@dataclass
class FollowUp:
    events: list[EventRecord] = field(default_factory=list)
    replies: list[AutoReply] = field(default_factory=list)


async def on_inbound(svc: Services, session: AsyncSession, stored: messages.Stored) -> FollowUp:
    follow = FollowUp()
    conversation = stored.conversation
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None and inbox.id is not None and conversation.id is not None
    action = optout.keyword_action(stored.message.body)
    if action == "stop":
        if await optout.opt_out(session, inbox.id, conversation.counterparty):
            follow.events.append(await conversation_updated(session, conversation))
        return follow
    if action == "start":
        if await optout.opt_in(session, inbox.id, conversation.counterparty):
            follow.events.append(await conversation_updated(session, conversation))
        return follow
    if action == "help":
        reply = AutoReply(conversation.id, optout.help_text(inbox), help_answer=True)
        follow.replies.append(reply)
        return follow
    period = away.away_period(inbox, svc.settings.clock())
    if period is not None and conversation.away_period != period:
        conversation.away_period = period
        session.add(conversation)
        follow.replies.append(AutoReply(conversation.id, inbox.away_message))
    return follow


async def send_automatic(svc: Services, reply: AutoReply, callback_base: str) -> None:
    """Send a system text (no sender, `automatic`) through the normal store-then-deliver path."""
    try:
        async with svc.db.write() as session:
            conversation = await session.get(Conversation, reply.conversation_id)
            if conversation is None:
                return
            stored = await messages.queue_outbound(
                session,
                conversation,
                None,
                reply.body,
                automatic=True,
                help_answer=reply.help_answer,
            )
    except InboxError as exc:
        logger.info("automatic reply in %d not sent: %s", reply.conversation_id, exc.message)
        return
    await svc.announce(stored.event)
    assert stored.message.id is not None
    await deliver(svc, stored.message.id, callback_base)


def dispatch(svc: Services, follow: FollowUp, callback_base: str) -> None:
    for reply in follow.replies:
        svc.spawn(send_automatic(svc, reply, callback_base), name=f"auto-{reply.conversation_id}")
