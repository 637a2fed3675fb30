"""Reports for supervisors (docs/decisions.md, "Supervisors"): per inbox or per agent, per day or
week (UTC), over a date range: texts in and out, segments sent, conversations opened and
archived, opt-outs, first response time and response time (median and p90, nearest rank), and
first responses past the inbox's target. Computed by the store in a few grouped queries (the
percentiles with window functions, which SQLite and PostgreSQL both have), reading messages by
(inbox, created_at) and the replies' waits (ResponseTime) by (inbox, started_at).

A *reply* is an outbound text a person sent (not automatic, not a bot's, not a bulk send, never
a note). A customer *waits* from their oldest text no reply has answered (a conversation's
`waiting_since`) to the next reply; that is a response time, recorded with the reply
(inbox/outbound.py) and counted in the bucket where the wait began. The *first response* is a
conversation's first such reply."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.models import Conversation, Inbox, Message, OptOut, ResponseTime, User

MAX_DAYS = 400  # a year and a bit: longer ranges are several reports
Bucket = Literal["day", "week"]
Group = Literal["inbox", "agent"]
COUNTS = ("texts_in", "texts_out", "segments", "opened", "archived", "opt_outs")


@dataclass(frozen=True)
class Range:
    start: datetime  # inclusive, UTC midnight
    end: datetime  # exclusive

    @classmethod
    def of(cls, first: str | None, last: str | None, today: date) -> Range:
        """`from` and `to` as ISO dates, both included (default: the last 30 days)."""
        try:
            end_day = date.fromisoformat(last) if last else today
            start_day = date.fromisoformat(first) if first else end_day - timedelta(days=29)
        except ValueError as exc:
            raise InvalidInputError("from and to are dates, YYYY-MM-DD") from exc
        if start_day > end_day:
            raise InvalidInputError("from is after to")
        if (end_day - start_day).days >= MAX_DAYS:
            raise InvalidInputError(f"a report covers at most {MAX_DAYS} days")
        start = datetime.combine(start_day, time(), UTC)
        return cls(start, datetime.combine(end_day + timedelta(days=1), time(), UTC))


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _bucket(session: AsyncSession, column: Any, bucket: Bucket) -> ColumnElement[Any]:
    """The day (or the Monday of the week) of a UTC timestamp, as YYYY-MM-DD text."""
    if _postgres(session):
        utc = func.timezone("UTC", column)
        return func.to_char(func.date_trunc(bucket, utc), "YYYY-MM-DD")
    if bucket == "week":
        return func.date(column, "weekday 0", "-6 days")
    return func.date(column)


def _seconds(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[Any]:
    if _postgres(session):
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


async def _counts(
    session: AsyncSession, inbox_ids: list[int], span: Range, bucket: Bucket, group: Group
) -> dict[tuple[str, int], dict[str, Any]]:
    rows: dict[tuple[str, int], dict[str, Any]] = {}

    def add(key: tuple[str, int], name: str, value: Any) -> None:
        rows.setdefault(key, {})[name] = int(value or 0)

    day = _bucket(session, col(Message.created_at), bucket)
    who = col(Message.inbox_id) if group == "inbox" else col(Message.sender_id)
    outbound = col(Message.direction) == "outbound"
    query = (
        select(
            day,
            who,
            func.sum(case((col(Message.direction) == "inbound", 1), else_=0)),
            func.sum(case((outbound, 1), else_=0)),
            func.sum(case((outbound, col(Message.segments)), else_=0)),
        )
        .where(
            col(Message.inbox_id).in_(inbox_ids),
            col(Message.created_at) >= span.start,
            col(Message.created_at) < span.end,
            col(Message.direction) != "note",
        )
        .group_by(day, who)
    )
    if group == "agent":
        query = query.where(outbound, col(Message.sender_id).is_not(None))
    for b, key, texts_in, texts_out, segments in await session.execute(query):
        add((b, key), "texts_out", texts_out)
        add((b, key), "segments", segments)
        if group == "inbox":
            add((b, key), "texts_in", texts_in)
    if group == "agent":
        return rows
    for column, name in (
        (col(Conversation.created_at), "opened"),
        (col(Conversation.archived_at), "archived"),
    ):
        b = _bucket(session, column, bucket)
        for day_, inbox_id, n in await session.execute(
            select(b, col(Conversation.inbox_id), func.count())
            .where(
                col(Conversation.inbox_id).in_(inbox_ids),
                column >= span.start,
                column < span.end,
            )
            .group_by(b, col(Conversation.inbox_id))
        ):
            add((day_, inbox_id), name, n)
    b = _bucket(session, col(OptOut.created_at), bucket)
    for day_, inbox_id, n in await session.execute(
        select(b, col(OptOut.inbox_id), func.count())
        .where(
            col(OptOut.inbox_id).in_(inbox_ids),
            col(OptOut.created_at) >= span.start,
            col(OptOut.created_at) < span.end,
        )
        .group_by(b, col(OptOut.inbox_id))
    ):
        add((day_, inbox_id), "opt_outs", n)
    return rows


async def _spells(
    session: AsyncSession, inbox_ids: list[int], span: Range, bucket: Bucket, group: Group
) -> dict[tuple[str, int], dict[str, Any]]:
    """Response time and first response time per (bucket, inbox or replier), and per ("total",
    inbox or replier) over the whole range, in one query over the replies' recorded waits
    (ResponseTime, written with each reply; read by (inbox, started_at)), in the bucket of the
    wait's start."""
    r = ResponseTime
    secs = _seconds(session, col(r.answered_at), col(r.started_at))
    late = case(
        (and_(col(Inbox.sla_minutes).is_not(None), secs > col(Inbox.sla_minutes) * 60), 1),
        else_=0,
    )
    timed = (
        select(
            _bucket(session, col(r.started_at), bucket).label("b"),
            (col(r.inbox_id) if group == "inbox" else col(r.user_id)).label("k"),
            secs.label("secs"),
            col(r.first).label("first"),
            late.label("late"),
        )
        .join(Inbox, col(Inbox.id) == col(r.inbox_id))
        .where(
            col(r.inbox_id).in_(inbox_ids),
            col(r.started_at) >= span.start,
            col(r.started_at) < span.end,
        )
        .cte("timed")
    )
    parts = []
    for kind in ("response", "first_response"):
        for whole in (False, True):
            b = literal("total") if whole else timed.c.b
            part = select(
                literal(kind).label("kind"), b.label("b"), timed.c.k, timed.c.secs, timed.c.late
            )
            parts.append(part.where(timed.c.first) if kind == "first_response" else part)
    both = union_all(*parts).subquery()
    within = (both.c.kind, both.c.b, both.c.k)
    rank = func.row_number().over(partition_by=within, order_by=both.c.secs).label("rn")
    total = func.count().over(partition_by=within).label("n")
    ranked = select(both, rank, total).subquery()
    query = select(
        ranked.c.kind,
        ranked.c.b,
        ranked.c.k,
        func.count(),
        func.min(case((ranked.c.rn >= ranked.c.n * 0.5, ranked.c.secs))),
        func.min(case((ranked.c.rn >= ranked.c.n * 0.9, ranked.c.secs))),
        func.sum(ranked.c.late),
    ).group_by(ranked.c.kind, ranked.c.b, ranked.c.k)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, b_, k, n, p50, p90, n_late in await session.execute(query):
        figures: dict[str, Any] = {
            "count": int(n),
            "median_secs": round(float(p50), 1),
            "p90_secs": round(float(p90), 1),
        }
        if kind == "first_response":
            figures["past_target"] = int(n_late or 0)
        out.setdefault((str(b_), int(k)), {})[kind] = figures
    return out


async def report(
    session: AsyncSession,
    inbox_ids: Collection[int],
    span: Range,
    bucket: Bucket,
    group: Group,
) -> dict[str, Any]:
    ids = sorted(inbox_ids)
    if not ids:
        return {"rows": [], "totals": []}
    counts = await _counts(session, ids, span, bucket, group)
    spells = await _spells(session, ids, span, bucket, group)
    timed = {key: v for key, v in spells.items() if key[0] != "total"}
    totals = {key: v for key, v in spells.items() if key[0] == "total"}
    names = await _names(session, group, {k for _, k in (*counts, *timed, *totals)})
    empty_times = {"count": 0, "median_secs": None, "p90_secs": None}

    def row(b: str, k: int, figures: dict[str, Any], times: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"bucket": b, _id_key(group): k, "name": names.get(k, f"#{k}")}
        for name in COUNTS:
            item[name] = (
                figures.get(name, 0)
                if group == "inbox"
                or name
                in (
                    "texts_out",
                    "segments",
                )
                else None
            )
        item["first_response"] = times.get("first_response", {**empty_times, "past_target": 0})
        item["response"] = times.get("response", empty_times)
        return item

    keys = sorted(set(counts) | set(timed))
    rows = [row(b, k, counts.get((b, k), {}), timed.get((b, k), {})) for b, k in keys]
    summed: dict[int, dict[str, Any]] = {}
    for (_, k), figures in counts.items():
        into = summed.setdefault(k, {})
        for name, value in figures.items():
            into[name] = into.get(name, 0) + value
    total_keys = sorted(set(summed) | {k for _, k in totals})
    total_rows = [
        row("total", k, summed.get(k, {}), totals.get(("total", k), {})) for k in total_keys
    ]
    return {"rows": rows, "totals": total_rows}


def _id_key(group: Group) -> str:
    return "inbox_id" if group == "inbox" else "user_id"


async def _names(session: AsyncSession, group: Group, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    model = Inbox if group == "inbox" else User
    rows = await session.execute(
        select(col(model.id), col(model.name)).where(col(model.id).in_(list(ids)))
    )
    return {i: str(n) for i, n in rows if i is not None}


CSV_COLUMNS = (
    "bucket", "id", "name", *COUNTS,
    "first_response_count", "first_response_median_secs", "first_response_p90_secs",
    "first_response_past_target", "response_count", "response_median_secs", "response_p90_secs",
)  # fmt: skip


def csv_rows(result: dict[str, Any], group: Group) -> list[list[Any]]:
    """The report as CSV rows (the header first), the totals last."""
    out: list[list[Any]] = [list(CSV_COLUMNS)]
    for item in [*result["rows"], *result["totals"]]:
        first, resp = item["first_response"], item["response"]
        out.append(
            [item["bucket"], item[_id_key(group)], item["name"]]
            + ["" if item[n] is None else item[n] for n in COUNTS]
            + [first["count"], first["median_secs"], first["p90_secs"], first["past_target"]]
            + [resp["count"], resp["median_secs"], resp["p90_secs"]]
        )
    return [["" if v is None else v for v in r] for r in out]
