"""Tags: the team's list of labels (a name and a colour; admins keep it), put on conversations
and taken off from the thread, shown in the list and used as a filter. The caller appends the
events (`conversation.updated` for a conversation's tags, `tag.updated` / `tag.deleted` for the
team's list)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.models import Conversation, ConversationTag, Tag

MAX_TAG_CHARS = 40  # fits a chip in a list row
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#6b7280"


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("name is required")
    name = " ".join(raw.split())
    if len(name) > MAX_TAG_CHARS:
        raise InvalidInputError(f"a tag name is at most {MAX_TAG_CHARS} characters", "too_long")
    return name


def _colour(raw: Any) -> str:
    if not isinstance(raw, str) or not COLOUR.match(raw):
        raise InvalidInputError("colour is a hex colour like #2f6fed", "invalid_colour")
    return raw.lower()


async def list_tags(session: AsyncSession, team_id: int) -> list[Tag]:
    rows = await session.scalars(
        select(Tag).where(col(Tag.team_id) == team_id).order_by(func.lower(col(Tag.name)))
    )
    return list(rows)


async def get_tag(session: AsyncSession, team_id: int, tag_id: int) -> Tag:
    tag = await session.get(Tag, tag_id)
    if tag is None or tag.team_id != team_id:
        raise NotFoundError(f"no tag {tag_id}")
    return tag


async def _check_unique(session: AsyncSession, team_id: int, name: str, tag_id: int | None) -> None:
    clash = await session.scalar(
        select(col(Tag.id)).where(
            col(Tag.team_id) == team_id,
            func.lower(col(Tag.name)) == name.lower(),
            col(Tag.id) != (tag_id or 0),
        )
    )
    if clash is not None:
        raise ConflictError(f"the team already has a tag {name!r}", "exists")


async def create_tag(session: AsyncSession, team_id: int, name: Any, colour: Any) -> Tag:
    clean = _name(name)
    await _check_unique(session, team_id, clean, None)
    tag = Tag(
        team_id=team_id, name=clean, colour=DEFAULT_COLOUR if colour is None else _colour(colour)
    )
    session.add(tag)
    await session.flush()
    return tag


async def update_tag(session: AsyncSession, tag: Tag, name: Any, colour: Any) -> None:
    if name is not None:
        tag.name = _name(name)
        await _check_unique(session, tag.team_id, tag.name, tag.id)
    if colour is not None:
        tag.colour = _colour(colour)
    session.add(tag)
    await session.flush()


async def delete_tag(session: AsyncSession, tag: Tag) -> None:
    """Remove the tag from every conversation and from the team's list."""
    await session.execute(delete(ConversationTag).where(col(ConversationTag.tag_id) == tag.id))
    await session.delete(tag)
    await session.flush()


async def add_tag(session: AsyncSession, conversation: Conversation, tag: Tag) -> bool:
    """Put the tag on the conversation; False when it was already there."""
    assert conversation.id is not None and tag.id is not None
    if await session.get(ConversationTag, (conversation.id, tag.id)) is not None:
        return False
    session.add(ConversationTag(conversation_id=conversation.id, tag_id=tag.id))
    await session.flush()
    return True


async def remove_tag(session: AsyncSession, conversation: Conversation, tag: Tag) -> bool:
    """Take the tag off; False when it was not there."""
    found = await session.get(ConversationTag, (conversation.id, tag.id))
    if found is None:
        return False
    await session.delete(found)
    await session.flush()
    return True


async def tags_by_conversation(
    session: AsyncSession, conversation_ids: Iterable[int | None]
) -> dict[int, list[Tag]]:
    wanted = {i for i in conversation_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(ConversationTag.conversation_id), Tag)
        .join(Tag, col(Tag.id) == col(ConversationTag.tag_id))
        .where(col(ConversationTag.conversation_id).in_(wanted))
        .order_by(func.lower(col(Tag.name)))
    )
    found: dict[int, list[Tag]] = {}
    for conversation_id, tag in rows:
        found.setdefault(conversation_id, []).append(tag)
    return found


def tagged_clause(tag_id: int) -> Any:
    """For a conversation query: the conversation carries this tag."""
    return exists().where(
        col(ConversationTag.conversation_id) == col(Conversation.id),
        col(ConversationTag.tag_id) == tag_id,
    )


async def merge_tags(session: AsyncSession, from_id: int, to_id: int) -> None:
    """Before a conversation is merged into another (a move): its tags join the other's."""
    have = set(
        await session.scalars(
            select(col(ConversationTag.tag_id)).where(col(ConversationTag.conversation_id) == to_id)
        )
    )
    moving = await session.scalars(
        select(col(ConversationTag.tag_id)).where(col(ConversationTag.conversation_id) == from_id)
    )
    session.add_all(
        ConversationTag(conversation_id=to_id, tag_id=t) for t in set(moving) if t not in have
    )
    await session.execute(
        delete(ConversationTag).where(col(ConversationTag.conversation_id) == from_id)
    )
    await session.flush()


async def drop_conversation_tags(session: AsyncSession, conversation_id: int) -> None:
    await session.execute(
        delete(ConversationTag).where(col(ConversationTag.conversation_id) == conversation_id)
    )
