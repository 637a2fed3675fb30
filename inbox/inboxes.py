"""Inboxes: finding them by their number, and the team's inboxes that have one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import Inbox


async def inbox_by_number(session: AsyncSession, number: str) -> Inbox | None:
    """The inbox whose number is `number` (E.164), if any."""
    found: Inbox | None = await session.scalar(
        select(Inbox).where(col(Inbox.phone_number) == number)
    )
    return found


async def numbered_inboxes(session: AsyncSession, team_id: int) -> list[Inbox]:
    """The team's inboxes that can be texted (they have a number)."""
    rows = await session.scalars(
        select(Inbox).where(col(Inbox.team_id) == team_id, col(Inbox.phone_number).is_not(None))
    )
    return list(rows)
