"""What the reports count, kept per UTC day as it happens (docs/decisions.md, "Supervisors"):
each write that a report counts (an inbound text, a conversation opened, a text sent, a reply
ending a wait, an archive, an opt-out) adds to `report_day` and `report_wait` in its own
transaction, so a report reads at most a row per inbox or agent per day and a small histogram,
whatever the number of texts (inbox/reports.py reads them). A change that takes rows away
(deleting a conversation, moving one out of the Mailroom) takes their counts away first.

The waits are binned by `wait_bin`: to the second under a minute, then 5 % wide up to a week (one
bin beyond); each reply adds to its inbox's and its replier's histograms of the day, the ISO
week and the month its wait began in (models.py, REPORT_WAIT, says how the columns add up)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Date, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.models import (
    INBOX_FIGURES,
    NOTE,
    REPORT_WAIT,
    WAIT_BINS,
    Conversation,
    Inbox,
    Message,
    OptOut,
    ReportDay,
    ResponseTime,
)

FIGURES = ("texts_in", "texts_out", "segments", "opened", "archived", "opt_outs", "first_late")
EXACT_BELOW_SECS = 60  # one bin per second: short waits are what a team compares most
# Above a minute each bin is 5 % wider than the last: 189 bins reach a week (the weekend's
# waits). A report sums each bin's columns over the rows it reads: 2 % would double that.
BIN_GROWTH = 1.05
_DAY = ReportDay.metadata.tables["report_day"]
_BIN_NAMES = [f"n{i}" for i in range(WAIT_BINS)] + [f"s{i}" for i in range(WAIT_BINS)]
_WAIT_KEYS = ["inbox_id", "agent_id", "period", "start", "first_only"]
# As text, built once: as an expression its 500 columns cost more to key for the statement cache
# than to run. The same words on SQLite and PostgreSQL.
_ADD_WAITS = text(
    f"INSERT INTO report_wait ({', '.join(_WAIT_KEYS + _BIN_NAMES)})"
    f" VALUES ({', '.join(':' + c for c in _WAIT_KEYS + _BIN_NAMES)})"
    f" ON CONFLICT ({', '.join(_WAIT_KEYS)}) DO UPDATE SET "
    + ", ".join(f"{c} = report_wait.{c} + excluded.{c}" for c in _BIN_NAMES)
).bindparams(bindparam("start", type_=Date), bindparam("first_only", type_=Boolean))


def percentile_sql(p: float) -> str:
    """SQL for the mean wait of the first bin whose column (the waits at or below it) reaches p
    of them all (the last bin's column): nearest rank, to the bin."""
    last = f"n{WAIT_BINS - 1}"
    whens = [f"WHEN n0 >= {last} * {p} THEN s0 * 1.0 / n0"] + [
        f"WHEN n{i} >= {last} * {p} THEN (s{i} - s{i - 1}) * 1.0 / (n{i} - n{i - 1})"
        for i in range(1, WAIT_BINS)
    ]
    return f"CASE {' '.join(whens)} END"


# Each row's own median and p90, kept with it: a bucket that is one row is read as it is.
_RANK_WAITS = text(
    f"UPDATE report_wait SET p50 = {percentile_sql(0.5)}, p90 = {percentile_sql(0.9)}"
    " WHERE inbox_id = :inbox_id AND agent_id = :agent_id AND period = :period"
    " AND start = :start AND first_only = :first_only"
).bindparams(bindparam("start", type_=Date), bindparam("first_only", type_=Boolean))


def wait_bin(secs: float) -> int:
    """The histogram bin of a wait: its whole seconds under a minute, then 5 % steps."""
    if secs < EXACT_BELOW_SECS:
        return max(0, int(secs))
    steps = int(math.log(secs / EXACT_BELOW_SECS) / math.log(BIN_GROWTH))
    return min(WAIT_BINS - 1, EXACT_BELOW_SECS + steps)


def period_starts(day: date) -> dict[str, date]:
    """The day, the Monday of its ISO week, the first of its month."""
    return {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
    }


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


def _upsert_days(dialect: Any) -> Any:
    statement = dialect.insert(_DAY)
    return statement.on_conflict_do_update(
        index_elements=["inbox_id", "agent_id", "day"],
        set_={c: _DAY.c[c] + statement.excluded[c] for c in FIGURES},
    )


# Built once per store: the inbound batch adds to the day's rows in every batch.
_ADD_DAYS = {"postgresql": _upsert_days(postgresql), "sqlite": _upsert_days(sqlite)}


async def count(session: AsyncSession, tally: Tally, sign: int = 1) -> None:
    """Add the tally to the report tables, in the caller's transaction."""
    if tally.days:
        rows = [
            {"inbox_id": i, "agent_id": a, "day": d, **{k: sign * v for k, v in figures.items()}}
            for (i, a, d), figures in sorted(tally.days.items())
        ]
        await session.execute(_ADD_DAYS[session.get_bind().dialect.name], rows)
    if tally.waits:
        rows = _wait_rows(tally, sign)
        await session.execute(_ADD_WAITS, rows)
        await session.execute(_RANK_WAITS, [{k: row[k] for k in _WAIT_KEYS} for row in rows])


def _wait_rows(tally: Tally, sign: int) -> list[dict[str, Any]]:
    """The histogram rows the tally's waits add to, each bin's column with the lower bins'."""
    binned: defaultdict[tuple[int, int, str, date, bool], list[list[float]]] = defaultdict(
        lambda: [[0] * WAIT_BINS, [0.0] * WAIT_BINS]
    )
    for (inbox_id, who, day, first, bin_), (n, secs) in tally.waits.items():
        for period, start in period_starts(day).items():
            for first_only in (False, True) if first else (False,):
                counts, sums = binned[(inbox_id, who, period, start, first_only)]
                counts[bin_] += int(n)
                sums[bin_] += secs
    rows = []
    for (inbox_id, who, period, start, first_only), (counts, sums) in sorted(binned.items()):
        row: dict[str, Any] = {
            "inbox_id": inbox_id, "agent_id": who, "period": period, "start": start,
            "first_only": first_only,
        }  # fmt: skip
        n_below, s_below = 0, 0.0
        for i in range(WAIT_BINS):
            n_below, s_below = n_below + int(counts[i]), s_below + sums[i]
            row[f"n{i}"], row[f"s{i}"] = sign * n_below, sign * s_below
        rows.append(row)
    return rows


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
    await session.execute(delete(REPORT_WAIT))
    await count(session, await tally_of_rows(session))
