"""What the reports count, kept per UTC day as it happens (docs/decisions.md, "Supervisors"):
each write that a report counts (an inbound text, a conversation opened, a text sent, a reply
ending a wait, an archive, an opt-out) adds to `report_day` and `report_wait` in its own
transaction, so a report reads at most a row per inbox or agent per day and a small histogram,
whatever the number of texts (inbox/reports.py reads them). A change that takes rows away
(deleting a conversation, moving one out of the Mailroom) takes their counts away first.

The waits are binned by `wait_bin`: to the second under a minute, then about 2 % wide."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import (
    INBOX_FIGURES,
    NOTE,
    Conversation,
    Inbox,
    Message,
    OptOut,
    ReportDay,
    ReportWait,
    ResponseTime,
)

FIGURES = ("texts_in", "texts_out", "segments", "opened", "archived", "opt_outs", "first_late")
EXACT_BELOW_SECS = 60  # one bin per second: short waits are what a team compares most
BIN_GROWTH = 1.02  # above a minute each bin is 2 % wider: the median and p90 within 2 %
_DAY = ReportDay.metadata.tables["report_day"]
_WAIT = ReportWait.metadata.tables["report_wait"]


def wait_bin(secs: float) -> int:
    """The histogram bin of a wait: its whole seconds under a minute, then 2 % steps."""
    if secs < EXACT_BELOW_SECS:
        return max(0, int(secs))
    return EXACT_BELOW_SECS + int(math.log(secs / EXACT_BELOW_SECS) / math.log(BIN_GROWTH))


def utc_day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()


@dataclass
class Tally:
    """Counts to add (or, with `sign` -1, take away) in one go."""

    days: defaultdict[tuple[int, int, date], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    )
    waits: defaultdict[tuple[int, int, date, bool, int], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0])
    )

    def add(self, inbox_id: int, at: datetime, agent_id: int | None = None, **figures: int) -> None:
        """Add to the inbox's figures of `at`'s day, and to the agent's when one is named."""
        for who in (INBOX_FIGURES, agent_id) if agent_id is not None else (INBOX_FIGURES,):
            row = self.days[(inbox_id, who, utc_day(at))]
            for name, value in figures.items():
                row[name] += value

    def wait(
        self, inbox_id: int, agent_id: int, started: datetime, answered: datetime, first: bool
    ) -> None:
        secs = max(0.0, (answered - started).total_seconds())
        for who in (INBOX_FIGURES, agent_id):
            binned = self.waits[(inbox_id, who, utc_day(started), first, wait_bin(secs))]
            binned[0] += 1
            binned[1] += secs


def is_late(started: datetime, answered: datetime, sla_minutes: float | None) -> bool:
    return sla_minutes is not None and (answered - started).total_seconds() > sla_minutes * 60


def _upsert(session: AsyncSession, table: Any, keys: list[str], adds: list[str]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + statement.excluded[c] for c in adds}
    )


async def count(session: AsyncSession, tally: Tally, sign: int = 1) -> None:
    """Add the tally to the report tables, in the caller's transaction."""
    if tally.days:
        rows = [
            {"inbox_id": i, "agent_id": a, "day": d, **{k: sign * v for k, v in figures.items()}}
            for (i, a, d), figures in sorted(tally.days.items())
        ]
        keys = ["inbox_id", "agent_id", "day"]
        await session.execute(_upsert(session, _DAY, keys, list(FIGURES)), rows)
    if tally.waits:
        rows = [
            {
                "inbox_id": i,
                "agent_id": a,
                "day": d,
                "first_response": f,
                "bin": b,
                "count": sign * int(n),
                "total_secs": sign * s,
            }  # fmt: skip
            for (i, a, d, f, b), (n, s) in sorted(tally.waits.items())
        ]
        keys = ["inbox_id", "agent_id", "day", "first_response", "bin"]
        await session.execute(_upsert(session, _WAIT, keys, ["count", "total_secs"]), rows)


async def tally_of_rows(session: AsyncSession, conversation_id: int | None = None) -> Tally:
    """What the stored rows count (one conversation's, or all): for rebuilding, and for taking a
    conversation's counts away before its rows go or move. Opt-outs belong to a number, not a
    conversation: only counted for all."""
    tally = Tally()
    m, c, r = Message, Conversation, ResponseTime
    messages = select(
        col(m.inbox_id), col(m.sender_id), col(m.direction), col(m.created_at), col(m.segments)
    ).where(col(m.direction) != NOTE)
    conversations = select(col(c.inbox_id), col(c.created_at), col(c.archived_at))
    waits = select(
        col(r.inbox_id), col(r.user_id), col(r.started_at), col(r.answered_at), col(r.first),
        col(Inbox.sla_minutes),
    ).join(Inbox, col(Inbox.id) == col(r.inbox_id))  # fmt: skip
    if conversation_id is not None:
        messages = messages.where(col(m.conversation_id) == conversation_id)
        conversations = conversations.where(col(c.id) == conversation_id)
        waits = waits.where(col(r.conversation_id) == conversation_id)
    for inbox_id, sender_id, direction, at, segments in await session.execute(messages):
        if direction == "inbound":
            tally.add(inbox_id, at, texts_in=1)
        else:
            tally.add(inbox_id, at, sender_id, texts_out=1, segments=segments)
    for inbox_id, created_at, archived_at in await session.execute(conversations):
        tally.add(inbox_id, created_at, opened=1)
        if archived_at is not None:
            tally.add(inbox_id, archived_at, archived=1)
    for inbox_id, user_id, started, answered, first, sla in await session.execute(waits):
        tally.wait(inbox_id, user_id, started, answered, first)
        if first and is_late(started, answered, sla):
            tally.add(inbox_id, started, user_id, first_late=1)
    if conversation_id is None:
        for inbox_id, at in await session.execute(
            select(col(OptOut.inbox_id), col(OptOut.created_at))
        ):
            tally.add(inbox_id, at, opt_outs=1)
    return tally


async def uncount_conversation(session: AsyncSession, conversation_id: int) -> None:
    await count(session, await tally_of_rows(session, conversation_id), sign=-1)


async def recount_conversation(session: AsyncSession, conversation_id: int) -> None:
    await count(session, await tally_of_rows(session, conversation_id))


async def rebuild(session: AsyncSession) -> None:
    """Count every stored row again from nothing (a store written without the app)."""
    await session.execute(delete(ReportDay))
    await session.execute(delete(ReportWait))
    await count(session, await tally_of_rows(session))
