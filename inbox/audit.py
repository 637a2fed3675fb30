"""The audit log: every admin change (who, what, when, before and after), written in the
change's own transaction, so a refused change leaves no entry. It never holds a secret: the
callers record what changed (a role, a name, `password: "set"`), never a password or a token."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import AuditEntry, User
from inbox.views import iso, user_view

PAGE_SIZE = 50


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys whose values differ, before and after."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _encode(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


async def record(
    session: AsyncSession,
    team_id: int,
    actor: User | None,
    action: str,
    subject: tuple[str, int | None],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Log one change by `actor` (None: the operator, from the command line)."""
    session.add(
        AuditEntry(
            team_id=team_id,
            actor_id=actor.id if actor is not None else None,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            before=_encode(before),
            after=_encode(after),
        )
    )
    await session.flush()


async def entries(
    session: AsyncSession, team_id: int, before_id: int | None, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the team's log, newest first, and the cursor of the next (older) page."""
    query = select(AuditEntry, User).outerjoin(User, col(User.id) == col(AuditEntry.actor_id))
    query = query.where(col(AuditEntry.team_id) == team_id)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    rows = (await session.execute(query.order_by(col(AuditEntry.id).desc()).limit(limit + 1))).all()
    items: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "at": iso(entry.created_at),
            "actor": user_view(actor),
            "action": entry.action,
            "subject": {"type": entry.subject_type, "id": entry.subject_id},
            "before": json.loads(entry.before) if entry.before is not None else None,
            "after": json.loads(entry.after) if entry.after is not None else None,
        }
        for entry, actor in rows[:limit]
    ]
    more = len(rows) > limit
    next_id: int | None = items[-1]["id"] if more and items else None
    return items, next_id
