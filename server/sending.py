"""The send path shared by REST, the socket and automatic replies: store the text as queued
with its event, announce it, then hand it to the SMS provider after the answer."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import conversations, messages, optout, triage
from inbox.delivery import send_with_retry
from inbox.errors import SmsError
from inbox.models import Conversation, EventRecord, Inbox, Message, User
from inbox.providers.base import OutboundText
from inbox.views import message_view
from server.state import Services

logger = logging.getLogger(__name__)

# Twilio's "Attempt to send to unsubscribed recipient": the number texted STOP to Twilio itself.
TWILIO_UNSUBSCRIBED = "21610"


async def send_text(
    svc: Services,
    user: User,
    conversation_id: int,
    visible: set[int],
    body: Any,
    *,
    callback_base: str,
) -> dict[str, Any]:
    """Send `body` in the conversation as `user`; return the stored message's view."""
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(session, conversation_id, visible)
        stored = await messages.queue_outbound(session, conversation, user, body)
    await svc.announce(stored.event)
    assert stored.message.id is not None
    svc.spawn(deliver(svc, stored.message.id, callback_base), name=f"deliver-{stored.message.id}")
    return message_view(stored.message, user)


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
