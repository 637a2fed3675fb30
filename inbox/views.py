"""The public shapes of messages and conversations (DESIGN.md, "Public contract")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import (
    NOTE,
    Attachment,
    Contact,
    Conversation,
    Inbox,
    Matter,
    Mention,
    Message,
    Tag,
    User,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_view(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "kind": "bot" if user.role == "bot" else "user"}


def inbox_view(inbox: Inbox, unsolicited_to: list[int]) -> dict[str, Any]:
    """What every member sees of an inbox (`unsolicited_to`: inbox/inboxes.py says whom)."""
    return {
        "id": inbox.id,
        "name": inbox.name,
        "code": inbox.code,
        "colour": inbox.colour,
        "phone_number": inbox.phone_number,
        "registration": inbox.registration,
        "unsolicited": inbox.unsolicited,
        "unsolicited_to": unsolicited_to,
        "mailroom": inbox.mailroom,
        "archived": inbox.archived_at is not None,
        "sla_minutes": inbox.sla_minutes,
    }


def person_view(user: User) -> dict[str, Any]:
    """A teammate as the whole team sees them (nothing private: no username, no sessions)."""
    return {
        "id": user.id,
        "name": user.name,
        "kind": "bot" if user.role == "bot" else "user",
        "role": user.role,
        "disabled": user.disabled_at is not None,
    }


def tag_view(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "colour": tag.colour}


# Shown in the page as pictures; every other type is only ever a download (inbox/attachments.py).
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def attachment_view(a: Attachment) -> dict[str, Any]:
    """A picture or file of a text; `url` answers its members only (server/http/media.py)."""
    return {
        "id": a.id,
        "content_type": a.content_type,
        "size": a.size,
        "filename": a.filename,
        "url": f"/api/v1/media/{a.id}",
        "inline": a.content_type in INLINE_TYPES,
        "gone": a.gone,
    }


def message_view(
    message: Message,
    sender: User | None,
    mentions: Iterable[User] = (),
    attachments: Iterable[Attachment] = (),
) -> dict[str, Any]:
    """A message and its attachments; a private note (direction "note") also names the
    teammates it mentions."""
    view: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "inbox_id": message.inbox_id,
        "direction": message.direction,
        "body": message.body,
        "attachments": [attachment_view(a) for a in attachments],
        "status": message.status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "segments": message.segments,
        "provider_sid": message.provider_sid,
        "automatic": message.automatic,
        "sender": user_view(sender),
        "routed": message.routed,
        "starts_thread": message.starts_thread,
        "created_at": iso(message.created_at),
    }
    if message.direction == NOTE:
        view["mentions"] = [user_view(u) for u in mentions]
    return view


def conversation_view(
    conversation: Conversation,
    contact: Contact | None,
    assignee: User | None,
    unread: bool,
    opted_out: bool = False,
    tags: Iterable[Tag] = (),
    matter: Matter | None = None,
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "counterparty": conversation.counterparty,
        "contact": {"id": contact.id, "name": contact.name} if contact else None,
        "status": conversation.status,
        "assignee": user_view(assignee),
        "unread": unread,
        "last_message_at": iso(conversation.last_message_at),
        "read_only": conversation.read_only,
        "opted_out": opted_out,
        "handed_off": conversation.handed_off,
        "tags": [tag_view(t) for t in tags],
        "waiting_since": iso(conversation.waiting_since),
        "matter": {"id": matter.id, "name": matter.name} if matter else None,
    }


def matter_view(matter: Matter, client: Contact | None) -> dict[str, Any]:
    return {
        "id": matter.id,
        "name": matter.name,
        "client": {"id": client.id, "name": client.name} if client else None,
        "status": matter.status,
        "inbox_id": matter.inbox_id,
        "created_at": iso(matter.created_at),
    }


async def users_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(col(User.id).in_(wanted)))
    return {u.id: u for u in rows if u.id is not None}


async def contacts_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Contact]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(Contact).where(col(Contact.id).in_(wanted)))
    return {c.id: c for c in rows if c.id is not None}


async def mentioned_by_message(
    session: AsyncSession, messages: Iterable[Message]
) -> dict[int, list[User]]:
    """The teammates each private note among `messages` mentions."""
    notes = {m.id for m in messages if m.direction == NOTE and m.id is not None}
    if not notes:
        return {}
    rows = await session.execute(
        select(col(Mention.message_id), User)
        .join(User, col(User.id) == col(Mention.user_id))
        .where(col(Mention.message_id).in_(notes))
        .order_by(col(User.name))
    )
    found: dict[int, list[User]] = {}
    for message_id, user in rows:
        found.setdefault(message_id, []).append(user)
    return found


async def matters_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Matter]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(Matter).where(col(Matter.id).in_(wanted)))
    return {m.id: m for m in rows if m.id is not None}
