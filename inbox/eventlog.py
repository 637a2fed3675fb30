"""The event log: every change that clients must see is appended here, in the same transaction
as the change, with the team's next event id. The socket bus replays from it (README: "The bus")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import EventRecord, Team


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


async def append_event(
    session: AsyncSession,
    team_id: int,
    type: str,
    data: dict[str, Any],
    *,
    inbox_id: int | None = None,
    user_id: int | None = None,
) -> EventRecord:
    # Bumping the team row takes its row lock (PostgreSQL) or the write lock (SQLite) until
    # commit, so a team's events commit in id order: a reader never sees 7 before 6.
    event_id = await session.scalar(
        update(Team)
        .where(col(Team.id) == team_id)
        .values(last_event_id=col(Team.last_event_id) + 1)
        .returning(col(Team.last_event_id))
    )
    if event_id is None:
        raise RuntimeError(f"Cannot append an event for team {team_id}: no such team.")
    record = EventRecord(
        team_id=team_id,
        id=event_id,
        type=type,
        inbox_id=inbox_id,
        user_id=user_id,
        data=json.dumps(data, separators=(",", ":")),
    )
    session.add(record)
    await session.flush()
    return record


async def events_after(
    session: AsyncSession, team_id: int, after_id: int, limit: int = 1000
) -> Sequence[EventRecord]:
    rows = await session.scalars(
        select(EventRecord)
        .where(col(EventRecord.team_id) == team_id, col(EventRecord.id) > after_id)
        .order_by(col(EventRecord.id))
        .limit(limit)
    )
    return rows.all()


async def last_event_id(session: AsyncSession, team_id: int) -> int:
    return await session.scalar(select(col(Team.last_event_id)).where(col(Team.id) == team_id)) or 0


async def prune_events(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(EventRecord).where(col(EventRecord.created_at) < before))
    return rowcount(result)


async def append_events(
    session: AsyncSession, team_id: int, events: Sequence[tuple[str, dict[str, Any], int | None]]
) -> list[EventRecord]:
    """Append many `(type, data, inbox_id)` events with one bump of the team's counter."""
    if not events:
        return []
    last = await session.scalar(
        update(Team)
        .where(col(Team.id) == team_id)
        .values(last_event_id=col(Team.last_event_id) + len(events))
        .returning(col(Team.last_event_id))
    )
    if last is None:
        raise RuntimeError(f"Cannot append events for team {team_id}: no such team.")
    first = last - len(events) + 1
    records = [
        EventRecord(
            team_id=team_id,
            id=first + i,
            type=type,
            inbox_id=inbox_id,
            data=json.dumps(data, separators=(",", ":")),
        )
        for i, (type, data, inbox_id) in enumerate(events)
    ]
    session.add_all(records)
    await session.flush()
    return records
