"""A team's matters (client/matter, seeds 000 and 003): a name, a client (a contact), a status
(active or archived) and the inbox texts routed to it start in (None: the Mailroom); and
filing a conversation under one. Where texts go is inbox/routing.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.contacts import get_contact
from inbox.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from inbox.models import MATTER_STATES, Conversation, Inbox, Matter
from inbox.views import contacts_by_id, matter_view

MAX_NAME_CHARS = 120


async def get_matter(session: AsyncSession, team_id: int, matter_id: int) -> Matter:
    matter = await session.get(Matter, matter_id)
    if matter is None or matter.team_id != team_id:
        raise NotFoundError(f"no matter {matter_id}")
    return matter


async def list_matters(
    session: AsyncSession, team_id: int, status: str | None = None
) -> list[Matter]:
    """The team's matters by name (`status`: only active or only archived ones)."""
    query = select(Matter).where(col(Matter.team_id) == team_id)
    if status:
        query = query.where(col(Matter.status) == _status(status))
    return list(await session.scalars(query.order_by(col(Matter.name), col(Matter.id))))


async def describe(session: AsyncSession, matters: list[Matter]) -> list[dict[str, Any]]:
    clients = await contacts_by_id(session, (m.client_id for m in matters))
    return [matter_view(m, clients.get(m.client_id)) for m in matters]


async def create_matter(
    session: AsyncSession, team_id: int, body: dict[str, Any], visible: set[int]
) -> Matter:
    """A matter from `body` ({name, client_id, status?, inbox_id?}); its inbox must be one
    the caller may see."""
    if body.get("client_id") is None:
        raise InvalidInputError("client_id (a contact's id) is required")
    matter = Matter(team_id=team_id, name=_name(body.get("name")), client_id=0)
    await _apply(session, matter, body, visible)
    session.add(matter)
    await session.flush()
    return matter


async def update_matter(
    session: AsyncSession, matter: Matter, body: dict[str, Any], visible: set[int]
) -> None:
    if "name" in body:
        matter.name = _name(body["name"])
    await _apply(session, matter, body, visible)
    session.add(matter)
    await session.flush()


async def _apply(
    session: AsyncSession, matter: Matter, body: dict[str, Any], visible: set[int]
) -> None:
    if "client_id" in body:
        client = await get_contact(session, matter.team_id, _id(body["client_id"], "client_id"))
        assert client.id is not None
        matter.client_id = client.id
    if "status" in body:
        matter.status = _status(body["status"])
    if "inbox_id" in body:
        matter.inbox_id = await _inbox_id(session, matter.team_id, body["inbox_id"], visible)


async def filed_conversations(
    session: AsyncSession, matter: Matter, visible: set[int]
) -> list[Conversation]:
    """The conversations filed under the matter in the inboxes `visible`, newest activity
    first."""
    rows = await session.scalars(
        select(Conversation)
        .where(col(Conversation.matter_id) == matter.id, col(Conversation.inbox_id).in_(visible))
        .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
    )
    return list(rows)


async def file_conversation(
    session: AsyncSession, conversation: Conversation, matter: Matter | None
) -> bool:
    """File the conversation under `matter` (None: under none); whether it changed. A
    conversation in the Mailroom that is filed stays filed: it may move to another matter,
    never back (seed 000)."""
    new_id = matter.id if matter is not None else None
    if new_id == conversation.matter_id:
        return False
    if new_id is None:
        inbox = await session.get(Inbox, conversation.inbox_id)
        if inbox is not None and inbox.mailroom:
            raise ConflictError(
                "a conversation filed out of the Mailroom can move to another matter, not back",
                "filed",
            )
    conversation.matter_id = new_id
    session.add(conversation)
    await session.flush()
    return True


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("name is required")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInputError(f"name is over {MAX_NAME_CHARS} characters", "too_long")
    return name


def _status(raw: Any) -> str:
    if raw not in MATTER_STATES:
        raise InvalidInputError("status must be active or archived")
    return str(raw)


def _id(raw: Any, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**53:
        raise InvalidInputError(f"{name} must be a number")
    return raw


async def _inbox_id(session: AsyncSession, team_id: int, raw: Any, visible: set[int]) -> int | None:
    if raw is None:
        return None
    inbox = await session.get(Inbox, _id(raw, "inbox_id"))
    if inbox is None or inbox.team_id != team_id:
        raise NotFoundError(f"no inbox {raw}")
    if inbox.id not in visible:
        raise ForbiddenError("you are not a member of that inbox")
    if inbox.archived_at is not None:
        raise InvalidInputError("that inbox is archived")
    return inbox.id
