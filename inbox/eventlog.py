"""The event log: every change that clients must see is appended here, in the same transaction
as the change, with the team's next event id. The socket bus replays from it (README: "The bus")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import EventRecord, Team, utcnow


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
    (record,) = await _append(session, team_id, [(type, data, inbox_id, user_id)])
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


async def events_of_types(
    session: AsyncSession, types: Sequence[str], after: tuple[int, int], limit: int = 1000
) -> Sequence[EventRecord]:
    """Logged events of the given types, every team's, in (team, id) order after `after`."""
    team_id, event_id = after
    rows = await session.scalars(
        select(EventRecord)
        .where(
            col(EventRecord.type).in_(types),
            or_(
                col(EventRecord.team_id) > team_id,
                (col(EventRecord.team_id) == team_id) & (col(EventRecord.id) > event_id),
            ),
        )
        .order_by(col(EventRecord.team_id), col(EventRecord.id))
        .limit(limit)
    )
    return rows.all()


async def last_event_id(session: AsyncSession, team_id: int) -> int:
    return await session.scalar(select(col(Team.last_event_id)).where(col(Team.id) == team_id)) or 0


async def last_event_ids(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(col(Team.id), col(Team.last_event_id)).where(col(Team.id).in_(team_ids))
    )
    return {team: last for team, last in rows if team is not None}


async def prune_events(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(EventRecord).where(col(EventRecord.created_at) < before))
    return rowcount(result)


async def rewrite_events(
    session: AsyncSession,
    team_id: int,
    inbox_id: int,
    containing: Sequence[str],
    type: str,
    data: dict[str, Any],
) -> int:
    """Replace every logged event of the inbox whose data contains one of `containing` by
    `(type, data)`, keeping its id (redaction: replay still has no gap)."""
    result = await session.execute(
        update(EventRecord)
        .where(
            col(EventRecord.team_id) == team_id,
            col(EventRecord.inbox_id) == inbox_id,
            or_(*(col(EventRecord.data).contains(text, autoescape=True) for text in containing)),
        )
        .values(type=type, data=_encode(data))
    )
    return rowcount(result)


def _encode(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


async def append_events(
    session: AsyncSession, team_id: int, events: Sequence[tuple[str, dict[str, Any], int | None]]
) -> list[EventRecord]:
    """Append many `(type, data, inbox_id)` events with one bump of the team's counter."""
    return await _append(session, team_id, [(t, d, i, None) for t, d, i in events])


_TEAM = Team.metadata.tables["team"]
_EVENT = EventRecord.metadata.tables["event"]
# Built once: making the expression anew was a tenth of the event loop's time under lock load.
_BUMP = (
    update(_TEAM)
    .where(_TEAM.c.id == bindparam("team"))
    .values(last_event_id=_TEAM.c.last_event_id + bindparam("count"))
    .returning(_TEAM.c.last_event_id)
)
_INSERT = insert(_EVENT)


async def _append(
    session: AsyncSession,
    team_id: int,
    events: Sequence[tuple[str, dict[str, Any], int | None, int | None]],
) -> list[EventRecord]:
    """Two statements whatever the count: bump the team's counter, insert the rows. Bumping the
    team row takes its row lock (PostgreSQL) or the write lock (SQLite) until commit, so a
    team's events commit in id order: a reader never sees 7 before 6. Plain table statements:
    the ORM's unit of work cost more than the SQL on the hot paths (docs/performance.md); the
    records returned are never added to the session."""
    if not events:
        return []
    last = await session.scalar(_BUMP, {"team": team_id, "count": len(events)})
    if last is None:
        raise RuntimeError(f"Cannot append events for team {team_id}: no such team.")
    first, now = last - len(events) + 1, utcnow()
    rows = [
        {
            "team_id": team_id,
            "id": first + i,
            "type": type,
            "inbox_id": inbox_id,
            "user_id": user_id,
            "data": _encode(data),
            "created_at": now,
        }
        for i, (type, data, inbox_id, user_id) in enumerate(events)
    ]
    await session.execute(_INSERT, rows)
    return [EventRecord.model_construct(**row) for row in rows]  # trusted values: no validation
