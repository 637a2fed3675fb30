"""Where a text to a team number no inbox has goes (seed 000's routing table; docs/decisions.md,
"Matters and routing"). A text to an inbox's own number goes to that inbox, as before.

For a text to such a number, from the most recently created contact with the sender's number:
one active matter of which it is the client, that matter; several, the one with the most recent
activity (its newest message in any conversation, else its creation). The text joins the
matter's conversation with the sender (any inbox), else the conversation with the sender in
the matter's inbox (the Mailroom when it names none), filed under the matter from then on.
With no such matter (no contact, none active): the sender's newest filed conversation if there
is one (an item filed out of the Mailroom never goes back), else the Mailroom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.contacts import newest_contacts
from inbox.models import Conversation, Inbox, Matter


@dataclass(frozen=True)
class Route:
    """Where a text goes: the inbox of its conversation, why (one of models.ROUTED_REASONS), and
    the matter to file that conversation under (None: its filing stays as it is)."""

    inbox: Inbox
    reason: str
    matter_id: int | None = None


async def route_texts(session: AsyncSession, texts: Sequence[tuple[Inbox, str]]) -> list[Route]:
    """The route of each (inbox its `to` number reached, sender), in order."""
    routes: list[Route] = []
    for reached, sender in texts:
        if not reached.mailroom:
            routes.append(Route(reached, "inbox"))
        else:
            routes.append(await _route_from_mailroom(session, reached, sender))
    return routes


async def _route_from_mailroom(session: AsyncSession, mailroom: Inbox, sender: str) -> Route:
    client = (await newest_contacts(session, mailroom.team_id, [sender])).get(sender)
    if client is None:
        return await _filed_or_mailroom(session, mailroom, sender, "unknown_number")
    matters = await _active_matters(session, client)
    if not matters:
        return await _filed_or_mailroom(session, mailroom, sender, "no_active_matter")
    matter = matters[0]
    reason = "matter_latest" if len(matters) > 1 else "matter"
    assert matter.id is not None
    filed = await session.scalar(
        select(Conversation)
        .where(col(Conversation.matter_id) == matter.id, col(Conversation.counterparty) == sender)
        .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        .limit(1)
    )
    inbox_id = filed.inbox_id if filed is not None else matter.inbox_id
    inbox = await _open_inbox(session, inbox_id) or mailroom
    return Route(inbox, reason, matter.id)


async def _active_matters(session: AsyncSession, client_id: int) -> list[Matter]:
    """The client's active matters, the most recently active first."""
    activity = func.coalesce(func.max(col(Conversation.last_message_at)), col(Matter.created_at))
    rows = await session.scalars(
        select(Matter)
        .outerjoin(Conversation, col(Conversation.matter_id) == col(Matter.id))
        .where(col(Matter.client_id) == client_id, col(Matter.status) == "active")
        .group_by(col(Matter.id))
        .order_by(activity.desc(), col(Matter.id).desc())
    )
    return list(rows)


async def _filed_or_mailroom(
    session: AsyncSession, mailroom: Inbox, sender: str, reason: str
) -> Route:
    filed = await session.scalar(
        select(Conversation)
        .where(
            col(Conversation.team_id) == mailroom.team_id,
            col(Conversation.counterparty) == sender,
            col(Conversation.matter_id).is_not(None),
        )
        .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        .limit(1)
    )
    if filed is None:
        return Route(mailroom, reason)
    inbox = await _open_inbox(session, filed.inbox_id)
    return Route(inbox or mailroom, "filed", None if inbox else filed.matter_id)


async def _open_inbox(session: AsyncSession, inbox_id: int | None) -> Inbox | None:
    if inbox_id is None:
        return None
    inbox = await session.get(Inbox, inbox_id)
    return inbox if inbox is not None and inbox.archived_at is None else None
