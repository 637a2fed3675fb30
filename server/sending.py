"""The send path shared by REST, the socket and automatic replies: check the lock and store the
text as queued with its event (server/fencing.py), announce it, then hand it to the SMS provider
after the answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import conversations, messages, optout, triage
from inbox.delivery import send_with_retry
from inbox.errors import InboxError, SmsError
from inbox.models import Conversation, EventRecord, Inbox, Message, User
from inbox.providers.base import OutboundText
from inbox.views import message_view
from server.fencing import claim_for_send, unseen_inbound
from server.locking import presence_errors
from server.state import Services

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
) -> Sent:
    """Send `body` in the conversation as `user`, fenced by the conversation's lock
    (server/fencing.py): 409 `locked` when another user holds it; taken when free."""
    body = messages.validate_body(body)
    assert user.id is not None
    with presence_errors():
        if seen_message_id is None:
            seen_message_id = await svc.presence.seen(user.id, conversation_id)
    claim = None
    try:
        async with svc.db.write() as session:  # fenced: the check and the store in one
            conversation = await conversations.get_conversation(session, conversation_id, visible)
            claim, lock_events = await claim_for_send(svc, session, user, conversation)
            unseen = list(await unseen_inbound(session, conversation_id, seen_message_id))
            stored = await messages.queue_outbound(session, conversation, user, body)
    except InboxError:
        if claim is not None and claim.fresh:  # the lock.acquired event was rolled back too
            with presence_errors():
                await svc.locks.release(conversation_id, claim.lock.team_id, user.id, "released")
        raise
    await svc.announce(*lock_events, stored.event)
    assert stored.message.id is not None
    with presence_errors():
        await svc.presence.mark_seen(user.id, conversation_id, stored.message.id)
    svc.spawn(deliver(svc, stored.message.id, callback_base), name=f"deliver-{stored.message.id}")
    return Sent(message_view(stored.message, user), unseen)


def status_callback_url(svc: Services, callback_base: str, message_id: int) -> str:
    base = svc.settings.public_url or callback_base.rstrip("/")
    return f"{base}/webhooks/twilio/status?message_id={message_id}"


async def deliver(svc: Services, message_id: int, callback_base: str) -> None:
    async with svc.db.read() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        inbox = await session.get(Inbox, message.inbox_id)
    assert conversation is not None and inbox is not None and inbox.phone_number
    text = OutboundText(
        to=conversation.counterparty,
        from_=inbox.phone_number,
        body=message.body,
        status_callback=status_callback_url(svc, callback_base, message_id),
    )
    try:
        result = await send_with_retry(
            svc.provider, text, first_backoff_secs=svc.settings.send_backoff_secs
        )
    except SmsError as exc:
        logger.warning(
            "message %d failed: %s (code %s)", message_id, exc.message, exc.provider_code
        )
        async with svc.db.write() as session:
            event = await messages.update_status(
                session,
                message_id,
                "failed",
                error_code=exc.provider_code or "provider_unreachable",
                error_message=exc.message,
            )
            opted = None
            if exc.provider_code == TWILIO_UNSUBSCRIBED and inbox.id is not None:
                opted = await mark_opted_out(session, inbox.id, conversation)
        await svc.announce(event, opted)
        return
    async with svc.db.write() as session:
        event = await messages.update_status(
            session, message_id, result.status, provider_sid=result.sid
        )
    await svc.announce(event)


async def mark_opted_out(
    session: AsyncSession, inbox_id: int, conversation: Conversation
) -> EventRecord | None:
    """Record the carrier's opt-out as ours, and show it (`conversation.updated`)."""
    if not await optout.opt_out(session, inbox_id, conversation.counterparty):
        return None
    return await triage.conversation_updated(session, conversation)
