"""Triage: assigning, archiving and per-user read state of conversations, and the sidebar counts.
The caller appends the `conversation.updated` event in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import report_days
from inbox.conversations import unread_clause
from inbox.errors import InvalidInputError
from inbox.models import Conversation, Inbox, InboxMember, ReadMarker, User, utcnow


async def assign(session: AsyncSession, conversation: Conversation, assignee_id: Any) -> None:
    """Give the conversation to a member of its inbox, or to nobody (`None`)."""
    if assignee_id is not None and (not isinstance(assignee_id, int) or assignee_id is True):
        raise InvalidInputError("user_id must be a user id or null")
    if assignee_id is not None:
        member = await session.get(InboxMember, (conversation.inbox_id, assignee_id))
        if member is None:
            raise InvalidInputError(
                f"user {assignee_id} is not a member of this inbox", "not_member"
            )
    conversation.assignee_id = assignee_id
    session.add(conversation)
    await session.flush()


async def set_status(session: AsyncSession, conversation: Conversation, status: str) -> None:
    if status not in ("open", "archived"):
        raise RuntimeError(f"Cannot set conversation status {status!r}.")
    if status == "archived" and conversation.status != "archived":
        # The reports count a conversation's last archive only: an earlier one moves to now.
        tally = report_days.Tally()
        if conversation.archived_at is not None:
            tally.add(conversation.inbox_id, conversation.archived_at, archived=-1)
        conversation.archived_at = utcnow()
        tally.add(conversation.inbox_id, conversation.archived_at, archived=1)
        await report_days.count(session, tally)
    conversation.status = status
    session.add(conversation)
    await session.flush()


async def mark_unread(session: AsyncSession, conversation: Conversation, user_id: int) -> None:
    """Put the user's marker just before the newest inbound text, so it counts as unread again.
    A conversation with no inbound text has nothing to be unread and stays read."""
    marker = await session.get(ReadMarker, (conversation.id, user_id))
    if conversation.last_inbound_at is None:
        return
    before = conversation.last_inbound_at - timedelta(microseconds=1)
    if marker is None:
        assert conversation.id is not None
        session.add(ReadMarker(conversation_id=conversation.id, user_id=user_id, read_at=before))
    else:
        marker.read_at = before
    await session.flush()


async def mark_read(session: AsyncSession, conversation: Conversation, user_id: int) -> None:
    marker = await session.get(ReadMarker, (conversation.id, user_id))
    if marker is None:
        assert conversation.id is not None
        session.add(ReadMarker(conversation_id=conversation.id, user_id=user_id))
    else:
        marker.read_at = utcnow()
    await session.flush()


async def counts(session: AsyncSession, inbox: Inbox, user: User) -> dict[str, Any]:
    """Numbers for the sidebar: per folder, and within the inbox folder per filter."""
    assert user.id is not None
    in_inbox = col(Conversation.inbox_id) == inbox.id
    rows = await session.execute(
        select(col(Conversation.status), func.count())
        .where(in_inbox)
        .group_by(col(Conversation.status))
    )
    folders = {"inbox": 0, "archived": 0}
    for status, n in rows:
        folders["inbox" if status == "open" else "archived"] += int(n)
    is_open = col(Conversation.status) == "open"
    by_assignee = await session.execute(
        select(col(Conversation.assignee_id), func.count())
        .where(in_inbox, is_open)
        .group_by(col(Conversation.assignee_id))
    )
    assignees = {a: int(n) for a, n in by_assignee}
    unread = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(in_inbox, is_open, unread_clause(user.id))
    )
    return {
        "folders": folders,
        "inbox": {
            "mine": assignees.get(user.id, 0),
            "unassigned": assignees.get(None, 0),
            "unread": int(unread or 0),
            "read": folders["inbox"] - int(unread or 0),
        },
        "assignees": {str(a): n for a, n in assignees.items() if a is not None},
    }
