"""Deleting a conversation: its messages (with their pictures, and what the outbox still owes
of them) and notes (with their mentions), tags, read markers and the conversation itself go,
for good. The caller also rewrites every copy the event log keeps of them (server/flows/
events.py: each logged event about it becomes a `conversation.deleted` tombstone, its id kept
so replay has no gap)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import attachments, report_days
from inbox.errors import InvalidInputError
from inbox.models import Conversation, Mention, Message, Outbox, ReadMarker, ResponseTime
from inbox.phones import to_e164
from inbox.tags import drop_conversation_tags


def check_confirmation(conversation: Conversation, confirm: object) -> None:
    """The caller must type the counterparty's number, as GitHub has you type a repo's name."""
    typed = to_e164(confirm) if isinstance(confirm, str) and confirm.strip() else None
    if typed != conversation.counterparty:
        raise InvalidInputError(
            f"type the number {conversation.counterparty} in confirm to delete", "confirm"
        )


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> list[str]:
    """Remove it and its messages irreversibly; return the media store's keys of its
    attachments, to delete once this commits."""
    assert conversation.id is not None
    await report_days.uncount_conversation(session, conversation.id)
    its_messages = select(col(Message.id)).where(col(Message.conversation_id) == conversation.id)
    # Texts still owed go too: a deleted conversation sends nothing more.
    await session.execute(delete(Outbox).where(col(Outbox.message_id).in_(its_messages)))
    await session.execute(delete(Mention).where(col(Mention.message_id).in_(its_messages)))
    await session.execute(
        delete(ResponseTime).where(col(ResponseTime.conversation_id) == conversation.id)
    )
    await drop_conversation_tags(session, conversation.id)
    keys = await attachments.drop_of_messages(session, its_messages)
    await session.execute(delete(Message).where(col(Message.conversation_id) == conversation.id))
    await session.execute(
        delete(ReadMarker).where(col(ReadMarker.conversation_id) == conversation.id)
    )
    await session.delete(conversation)
    await session.flush()
    return keys
