"""The Mailroom: a team's catch-all inbox for texts to a team number that no inbox has. Admins
and supervisors are its members; it has no number of its own, so it cannot reply. A
conversation is moved from it (or from any inbox) into another inbox with `move_conversation`,
which merges it into that inbox's conversation with the same number if there is one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import report_days
from inbox.errors import InvalidInputError
from inbox.models import (
    SUPERVISING_ROLES,
    Conversation,
    Inbox,
    InboxMember,
    Message,
    PhoneNumber,
    ReadMarker,
    User,
)
from inbox.tags import merge_tags

MAILROOM_NAME = "Mailroom"
MAILROOM_CODE = "mailroom"


async def mailroom_for_number(session: AsyncSession, number: str) -> tuple[Inbox | None, bool]:
    """The Mailroom of the team owning `number`, if no inbox has the number, and whether it was
    made just now (its members then gained access: the caller tells them)."""
    owned = await session.scalar(
        select(PhoneNumber).where(
            col(PhoneNumber.number) == number,
            col(PhoneNumber.released_at).is_(None),
            col(PhoneNumber.inbox_id).is_(None),
        )
    )
    if owned is None:
        return None, False
    return await get_or_create_mailroom(session, owned.team_id)


async def get_or_create_mailroom(session: AsyncSession, team_id: int) -> tuple[Inbox, bool]:
    found = await session.scalar(
        select(Inbox).where(col(Inbox.team_id) == team_id, col(Inbox.mailroom).is_(True))
    )
    if found is not None:
        return found, False
    # Writes run one at a time (the write lock), so two texts cannot make two Mailrooms.
    inbox = Inbox(
        team_id=team_id,
        name=MAILROOM_NAME,
        code=MAILROOM_CODE,
        colour="#6b7280",
        registration="registered",
        mailroom=True,
    )
    session.add(inbox)
    await session.flush()
    assert inbox.id is not None
    members = await session.scalars(
        select(col(User.id)).where(
            col(User.team_id) == team_id, col(User.role).in_(SUPERVISING_ROLES)
        )
    )
    user_ids = [u for u in members if u is not None]
    session.add_all([InboxMember(inbox_id=inbox.id, user_id=u) for u in user_ids])
    await session.flush()
    return inbox, True


async def move_conversation(
    session: AsyncSession, conversation: Conversation, target: Inbox
) -> Conversation:
    """Move the conversation into `target`; return the conversation it now lives in (the
    target's own conversation with the number, when it had one: the moved one is merged)."""
    if target.id == conversation.inbox_id:
        raise InvalidInputError("the conversation is already in that inbox")
    if target.mailroom:
        raise InvalidInputError("conversations are moved out of the Mailroom, not into it")
    assert target.id is not None and conversation.id is not None
    existing = await session.scalar(
        select(Conversation).where(
            col(Conversation.inbox_id) == target.id,
            col(Conversation.counterparty) == conversation.counterparty,
        )
    )
    destination = existing or conversation
    assert destination.id is not None
    # Its texts and its opening count in the target from now on (the moved one's waits stay
    # with the inbox they were recorded in, as their rows do).
    for counted in {conversation.id, destination.id}:
        await report_days.uncount_conversation(session, counted)
    await session.execute(
        update(Message)
        .where(col(Message.conversation_id) == conversation.id)
        .values(conversation_id=destination.id, inbox_id=target.id)
    )
    if existing is not None:
        existing.last_message_at = _latest(existing.last_message_at, conversation.last_message_at)
        existing.last_inbound_at = _latest(existing.last_inbound_at, conversation.last_inbound_at)
        existing.status = "open"
        existing.matter_id = existing.matter_id or conversation.matter_id
        await merge_tags(session, conversation.id, destination.id)
        await session.execute(
            delete(ReadMarker).where(col(ReadMarker.conversation_id) == conversation.id)
        )
        await session.delete(conversation)
    else:
        conversation.inbox_id = target.id
        conversation.status = "open"
        if conversation.assignee_id is not None:
            keeps = await session.get(InboxMember, (target.id, conversation.assignee_id))
            conversation.assignee_id = conversation.assignee_id if keeps else None
    session.add(destination)
    await session.flush()
    await report_days.recount_conversation(session, destination.id)
    return destination


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
