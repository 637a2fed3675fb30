"""Deleting a conversation: its messages, read markers and the conversation itself go, and so
does every copy the event log keeps of them: each logged event about the conversation is
rewritten into a `conversation.deleted` tombstone (its id stays, so replay has no gap)."""

from __future__ import annotations

import json

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.eventlog import append_event, rowcount
from inbox.models import Conversation, EventRecord, Message, ReadMarker
from inbox.phones import to_e164


def check_confirmation(conversation: Conversation, confirm: object) -> None:
    """The caller must type the counterparty's number, as GitHub has you type a repo's name."""
    typed = to_e164(confirm) if isinstance(confirm, str) and confirm.strip() else None
    if typed != conversation.counterparty:
        raise InvalidInputError(
            f"type the number {conversation.counterparty} in confirm to delete", "confirm"
        )


def tombstone(conversation: Conversation) -> dict[str, int]:
    assert conversation.id is not None
    return {"conversation_id": conversation.id, "inbox_id": conversation.inbox_id}


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> EventRecord:
    """Remove it irreversibly; return the `conversation.deleted` event to announce."""
    assert conversation.id is not None
    gone = tombstone(conversation)
    await session.execute(delete(Message).where(col(Message.conversation_id) == conversation.id))
    await session.execute(
        delete(ReadMarker).where(col(ReadMarker.conversation_id) == conversation.id)
    )
    # Logged data is compact JSON (eventlog uses separators=(",", ":")): a message names the
    # conversation as "conversation_id":N, and a conversation view opens {"id":N,.
    await redact_events(session, conversation, json.dumps(gone, separators=(",", ":")))
    await session.delete(conversation)
    await session.flush()
    return await append_event(
        session, conversation.team_id, "conversation.deleted", gone, inbox_id=conversation.inbox_id
    )


async def redact_events(session: AsyncSession, conversation: Conversation, data: str) -> int:
    ident = conversation.id
    result = await session.execute(
        update(EventRecord)
        .where(
            col(EventRecord.team_id) == conversation.team_id,
            col(EventRecord.inbox_id) == conversation.inbox_id,
            or_(
                col(EventRecord.data).contains(f'"conversation_id":{ident},', autoescape=True),
                col(EventRecord.data).contains(f'"conversation":{{"id":{ident},', autoescape=True),
            ),
        )
        .values(type="conversation.deleted", data=data)
    )
    return rowcount(result)
