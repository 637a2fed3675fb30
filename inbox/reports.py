"""Reports for supervisors (docs/decisions.md, "Supervisors"): per inbox or per agent, per day or
week (UTC), over a date range: texts in and out, segments sent, conversations opened and
archived, opt-outs, first response time and response time (median and p90, nearest rank), and
first responses past the inbox's target. Read from what inbox/report_days.py counts per UTC day
as it happens (a row per inbox or agent per day, and a histogram of the waits per day), in two
grouped queries (the percentiles with window functions, which SQLite and PostgreSQL both have),
so a year costs the same whatever the number of texts.

A *reply* is an outbound text a person sent (not automatic, not a bot's, not a bulk send, never
a note). A customer *waits* from their oldest text no reply has answered (a conversation's
`waiting_since`) to the next reply; that is a response time, recorded with the reply
(inbox/outbound.py) and counted in the bucket where the wait began. The *first response* is a
conversation's first such reply."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Date, DateTime, and_, bindparam, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.models import INBOX_FIGURES, WAIT_BINS, Inbox, ReportDay, User
from inbox.report_days import FIGURES, percentile_sql

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


def _bucket(session: AsyncSession, day: Any, bucket: Bucket) -> ColumnElement[Any]:
    """The day (or the Monday of its week) of a date column, as YYYY-MM-DD text."""
    if _postgres(session):
        return func.to_char(func.date_trunc(bucket, cast(day, DateTime)), "YYYY-MM-DD")
    if bucket == "week":
        return func.date(day, "weekday 0", "-6 days")
    return func.date(day)


def _rows_of_inboxes(table: Any, inbox_ids: list[int], group: Group) -> Any:
    """The rows of the inboxes' own figures, or of the agents in them."""
    agents = (
        table.agent_id == INBOX_FIGURES if group == "inbox" else table.agent_id != INBOX_FIGURES
    )
    return and_(table.inbox_id.in_(inbox_ids), agents)


def _rows_of(table: Any, inbox_ids: list[int], span: Range, group: Group) -> Any:
    """The report rows of the inboxes (or of the agents in them) over the range."""
    return and_(
        _rows_of_inboxes(table, inbox_ids, group),
        table.day >= span.start.date(),
        table.day < span.end.date(),
    )


async def _counts(
    session: AsyncSession, inbox_ids: list[int], span: Range, bucket: Bucket, group: Group
) -> dict[tuple[str, int], dict[str, Any]]:
    d = ReportDay.metadata.tables["report_day"].c
    b = _bucket(session, d.day, bucket)
    key = d.inbox_id if group == "inbox" else d.agent_id
    query = (
        select(b, key, *(func.sum(d[name]) for name in FIGURES))
        .where(_rows_of(d, inbox_ids, span, group))
        .group_by(b, key)
    )
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for b_, k, *figures in await session.execute(query):
        rows[(str(b_), int(k))] = {
            name: int(value or 0) for name, value in zip(FIGURES, figures, strict=True)
        }
    return rows


def _week_cover(first: date, end: date) -> list[tuple[str, date, date]]:
    """[first, end) as its whole ISO weeks and the days around them: (period, from, to)."""
    inner, inner_end = first + timedelta(days=-first.weekday() % 7), end - timedelta(end.weekday())
    if inner >= inner_end:
        return [("day", first, end)]
    return [("day", first, inner), ("week", inner, inner_end), ("day", inner_end, end)]


def _total_cover(first: date, end: date) -> list[tuple[str, date, date]]:
    """[first, end) as its whole months, then whole weeks, then days: the fewest rows."""
    inner = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    inner_end = end.replace(day=1)
    if inner >= inner_end:
        return _week_cover(first, end)
    return [*_week_cover(first, inner), ("month", inner, inner_end), *_week_cover(inner_end, end)]


TOTAL_PARTS, EDGE_PARTS = 7, 2  # the most ranges of each cover (days, weeks, months, weeks, days)


def _ranges(prefix: str, parts: int) -> str:
    return " OR ".join(
        f"(period = :{prefix}p{j} AND start >= :{prefix}a{j} AND start < :{prefix}b{j})"
        for j in range(parts)
    )


@functools.cache
def _spells_query(dialect: str, bucket: Bucket, group: Group) -> TextClause:
    """The histograms' query as text, built once for each kind of question: as an expression its
    thousand columns cost more to key for the statement cache than to run. A bucket that is one
    row (a day, a whole week) is read as it is, its percentiles kept with it; the others (the
    part weeks at the ends, the totals) add up their rows' columns."""
    if dialect == "postgresql":
        day = "to_char(start, 'YYYY-MM-DD')"
        week = "to_char(date_trunc('week', CAST(start AS timestamp)), 'YYYY-MM-DD')"
    else:
        day, week = "date(start)", "date(start, 'weekday 0', '-6 days')"
    label = day if bucket == "day" else week
    key = "inbox_id" if group == "inbox" else "agent_id"
    agents = f"agent_id {'=' if group == 'inbox' else '!='} {INBOX_FIGURES}"
    mine = f"inbox_id IN :ids AND {agents}"
    sums = ", ".join(f"sum({c}{i}) AS {c}{i}" for c in "ns" for i in range(WAIT_BINS))
    last = f"n{WAIT_BINS - 1}"
    percentiles = f"{percentile_sql(0.5)}, {percentile_sql(0.9)}"

    def added(b: str, ranges: str, grouped: str) -> str:
        return (
            f"SELECT b, k, first_only, {last}, {percentiles} FROM ("
            f"SELECT {b} AS b, {key} AS k, first_only, {sums} FROM report_wait"
            f" WHERE {mine} AND ({ranges}) GROUP BY {grouped}{key}, first_only) AS summed"
        )

    sql = (
        f"SELECT {label}, {key}, first_only, {last}, p50, p90 FROM report_wait"
        f" WHERE {mine} AND period = :whole AND start >= :whole_from AND start < :whole_to"
        f" UNION ALL {added(label, _ranges('e', EDGE_PARTS), label + ', ')}"
        f" UNION ALL {added(repr('total'), _ranges('t', TOTAL_PARTS), '')}"
    )
    dates = [
        bindparam(f"{x}{y}{j}", type_=Date)
        for x, parts in (("e", EDGE_PARTS), ("t", TOTAL_PARTS))
        for y in "ab"
        for j in range(parts)
    ]
    whole = [bindparam(f"whole_{x}", type_=Date) for x in ("from", "to")]
    return text(sql).bindparams(bindparam("ids", expanding=True), *dates, *whole)


async def _spells(
    session: AsyncSession, inbox_ids: list[int], span: Range, bucket: Bucket, group: Group
) -> dict[tuple[str, int], dict[str, Any]]:
    """Response time and first response time per (bucket, inbox or replier), and per ("total",
    inbox or replier) over the whole range, in one query over the waits' histograms
    (inbox/report_days.py), in the bucket of the wait's start: the median and p90 are the mean
    of the bin holding that rank, so exact when the bin holds one value, else within the bin."""
    first, end = span.start.date(), span.end.date()
    if bucket == "day":
        whole, edges = ("day", first, end), []
    else:
        cover = _week_cover(first, end)
        whole = next((c for c in cover if c[0] == "week"), ("week", first, first))
        edges = [c for c in cover if c[0] == "day"]
    params: dict[str, Any] = {"ids": inbox_ids}
    params |= {"whole": whole[0], "whole_from": whole[1], "whole_to": whole[2]}
    for prefix, ranges, parts in (
        ("e", edges, EDGE_PARTS),
        ("t", _total_cover(first, end), TOTAL_PARTS),
    ):
        ranges = ranges + [("day", first, first)] * (parts - len(ranges))
        for j, (period, since, until) in enumerate(ranges):
            params |= {f"{prefix}p{j}": period, f"{prefix}a{j}": since, f"{prefix}b{j}": until}
    query = _spells_query(session.get_bind().dialect.name, bucket, group)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for b_, k_, first_only, count, p50, p90 in await session.execute(query, params):
        if not count:
            continue
        out.setdefault((str(b_), int(k_)), {})["first_response" if first_only else "response"] = {
            "count": int(count),
            "median_secs": round(float(p50), 1),
            "p90_secs": round(float(p90), 1),
        }
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
    counts = {
        key: figures
        for key, figures in (await _counts(session, ids, span, bucket, group)).items()
        if any(figures.values())  # a day whose counts were all taken away again
    }
    spells = await _spells(session, ids, span, bucket, group)
    timed = {key: v for key, v in spells.items() if key[0] != "total"}
    totals = {key: v for key, v in spells.items() if key[0] == "total"}
    names = await _names(session, group, {k for _, k in (*counts, *timed, *totals)})
    empty_times = {"count": 0, "median_secs": None, "p90_secs": None}

    per_agent = ("texts_out", "segments")  # the rest belong to inboxes

    def row(b: str, k: int, figures: dict[str, Any], times: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"bucket": b, _id_key(group): k, "name": names.get(k, f"#{k}")}
        for name in COUNTS:
            item[name] = figures.get(name, 0) if group == "inbox" or name in per_agent else None
        item["first_response"] = {
            **times.get("first_response", empty_times),
            "past_target": figures.get("first_late", 0),
        }
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
