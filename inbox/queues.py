"""What the supervisor board counts (docs/decisions.md, "Supervisors"): the open conversations
that are assigned or waiting for a person (the page folds them into per-agent and per-inbox
figures and keeps them current from the events), and when each agent last replied."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import Conversation, Message

# The board shows at most this many open conversations (the oldest waiting first); a team
# with more waiting than this has a queue no board row can describe anyway.
BOARD_CONVERSATIONS = 5000
# "Last reply" looks this far back (the index on (inbox, created_at) bounds the read); older
# shows as none lately.
LAST_REPLY_WINDOW = timedelta(days=30)


async def open_queue(session: AsyncSession, inbox_ids: Collection[int]) -> list[Conversation]:
    """Open conversations of these inboxes that are assigned or have a customer waiting."""
    if not inbox_ids:
        return []
    rows = await session.scalars(
        select(Conversation)
        .where(
            col(Conversation.inbox_id).in_(list(inbox_ids)),
            col(Conversation.status) == "open",
            or_(
                col(Conversation.assignee_id).is_not(None),
                col(Conversation.waiting_since).is_not(None),
            ),
        )
        .order_by(col(Conversation.waiting_since).is_(None), col(Conversation.waiting_since))
        .limit(BOARD_CONVERSATIONS)
    )
    return list(rows)


async def last_replies(
    session: AsyncSession, inbox_ids: Collection[int], now: datetime
) -> dict[int, datetime]:
    """Each person's newest reply (outbound, not automatic) in these inboxes lately."""
    if not inbox_ids:
        return {}
    rows = await session.execute(
        select(col(Message.sender_id), func.max(col(Message.created_at)))
        .where(
            col(Message.inbox_id).in_(list(inbox_ids)),
            col(Message.created_at) >= now - LAST_REPLY_WINDOW,
            col(Message.direction) == "outbound",
            col(Message.automatic).is_(False),
            col(Message.sender_id).is_not(None),
        )
        .group_by(col(Message.sender_id))
    )
    return {user_id: at for user_id, at in rows if user_id is not None}
