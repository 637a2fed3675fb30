"""The team's outgoing allowance (seed 003; docs/decisions.md, "Campaigns and the allowance"):
segments a UTC calendar month, counted in the write transaction that stores each text, so
concurrent sends can never pass a refusing allowance (every write holds the store's write lock:
inbox/db.py). Past the allowance a team either refuses sends or sends and counts the overage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox.errors import InvalidInputError, NotFoundError
from inbox.models import ALLOWANCE_MODES, AllowanceUsage, Team

WARN_AT_PERCENT = 90  # admins are told once a month when this much is used, and again at 100
MAX_ALLOWANCE_SEGMENTS = 100_000_000  # a bound on input, far above any team's month


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


@dataclass(frozen=True)
class Charge:
    """How many of the texts of one send may go, and the segments that were past the limit."""

    allowed: int
    over: int


async def _usage(session: AsyncSession, team_id: int, month: str) -> AllowanceUsage:
    found = await session.get(AllowanceUsage, (team_id, month), with_for_update=True)
    if found is None:
        found = AllowanceUsage(team_id=team_id, month=month)
        session.add(found)
    return found


async def charge(
    session: AsyncSession, team_id: int, texts: int, segments: int, now: datetime, *, exempt: bool
) -> Charge:
    """Count `texts` texts of `segments` segments each, in the caller's write transaction. A
    refusing team's texts past its allowance are not allowed (the first ones go); `exempt`
    texts (a HELP answer, an away message) always go, and count."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    usage = await _usage(session, team_id, month_of(now))
    limit = team.allowance_segments
    allowed = texts
    if limit is not None and team.allowance_when_out == "refuse" and not exempt:
        allowed = max(0, min(texts, (limit - usage.used) // max(segments, 1)))
    spent = allowed * segments
    over = 0 if limit is None else max(0, usage.used + spent - max(limit, usage.used))
    usage.used += spent
    usage.overage += over
    session.add(usage)
    return Charge(allowed, over)


async def view(session: AsyncSession, team_id: int, now: datetime) -> dict[str, Any]:
    """`{month, limit, used, overage, remaining, when_out, warning, exhausted}`: the counter."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    usage = await session.get(AllowanceUsage, (team_id, month_of(now)))
    used, overage = (usage.used, usage.overage) if usage else (0, 0)
    limit = team.allowance_segments
    return {
        "month": month_of(now),
        "limit": limit,
        "used": used,
        "overage": overage,
        "remaining": None if limit is None else max(0, limit - used),
        "when_out": team.allowance_when_out,
        "warning": limit is not None and used * 100 >= limit * WARN_AT_PERCENT,
        "exhausted": limit is not None and used >= limit,
    }


async def due_warning(session: AsyncSession, team_id: int, now: datetime) -> int | None:
    """The warning level (90 or 100) this month's count has reached and admins were not told
    of yet, marked as told; None when there is none."""
    team = await session.get(Team, team_id)
    usage = await session.get(AllowanceUsage, (team_id, month_of(now)))
    if team is None or usage is None or team.allowance_segments is None:
        return None
    limit = team.allowance_segments
    level = (
        100
        if usage.used >= limit
        else WARN_AT_PERCENT
        if usage.used * 100 >= limit * WARN_AT_PERCENT
        else 0
    )
    if level <= usage.warned:
        return None
    usage.warned = level
    session.add(usage)
    return level


async def set_allowance(
    session: AsyncSession, team_id: int, limit: Any, when_out: Any, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An admin's setting: `limit` segments a month (None: unlimited) and `when_out`; the
    setting before and after (for the audit entry). The month's warnings start again."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise InvalidInputError("limit is a whole number of segments a month, or null")
    if limit is not None and limit > MAX_ALLOWANCE_SEGMENTS:
        raise InvalidInputError(f"limit is at most {MAX_ALLOWANCE_SEGMENTS}")
    if when_out not in ALLOWANCE_MODES:
        raise InvalidInputError(f"when_out is one of {', '.join(ALLOWANCE_MODES)}")
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    before = {"limit": team.allowance_segments, "when_out": team.allowance_when_out}
    team.allowance_segments, team.allowance_when_out = limit, when_out
    session.add(team)
    usage = await _usage(session, team_id, month_of(now))
    usage.warned = 0
    session.add(usage)
    await session.flush()
    return before, {"limit": limit, "when_out": when_out}
