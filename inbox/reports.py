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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import DateTime, and_, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.models import INBOX_FIGURES, Inbox, ReportDay, ReportWait, User
from inbox.report_days import FIGURES

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


def _rows_of(table: Any, inbox_ids: list[int], span: Range, group: Group) -> Any:
    """The report rows of the inboxes (or of the agents in them) over the range."""
    return and_(
        table.inbox_id.in_(inbox_ids),
        table.day >= span.start.date(),
        table.day < span.end.date(),
        table.agent_id == INBOX_FIGURES if group == "inbox" else table.agent_id != INBOX_FIGURES,
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


async def _spells(
    session: AsyncSession, inbox_ids: list[int], span: Range, bucket: Bucket, group: Group
) -> dict[tuple[str, int], dict[str, Any]]:
    """Response time and first response time per (bucket, inbox or replier), and per ("total",
    inbox or replier) over the whole range, in one query over the days' histograms of the waits
    (inbox/report_days.py), in the bucket of the wait's start: the median and p90 are the mean
    of the bin holding that rank, so exact when the bin holds one value, else within the bin."""
    w = ReportWait.metadata.tables["report_wait"].c
    b = _bucket(session, w.day, bucket).label("b")
    k = (w.inbox_id if group == "inbox" else w.agent_id).label("k")
    binned = (  # read once; the four groupings below are of its (much fewer) rows
        select(
            b,
            k,
            w.first_response,
            w.bin,
            func.sum(w["count"]).label("n"),
            func.sum(w.total_secs).label("s"),
        )
        .where(_rows_of(w, inbox_ids, span, group), w["count"] > 0)
        .group_by(b, k, w.first_response, w.bin)
        .cte("binned")
    )
    parts = []
    for kind in ("response", "first_response"):
        for whole in (False, True):
            b_ = literal("total") if whole else binned.c.b
            part = select(
                literal(kind).label("kind"),
                b_.label("b"),
                binned.c.k,
                binned.c.bin,
                func.sum(binned.c.n).label("n"),
                func.sum(binned.c.s).label("s"),
            ).group_by(b_, binned.c.k, binned.c.bin)
            parts.append(part.where(binned.c.first_response) if kind == "first_response" else part)
    both = union_all(*parts).subquery()
    within = (both.c.kind, both.c.b, both.c.k)
    below = func.sum(both.c.n).over(partition_by=within, order_by=both.c.bin).label("below")
    total = func.sum(both.c.n).over(partition_by=within).label("total")
    ranked = select(both, below, total).subquery()
    mean = (
        ranked.c.s * 1.0 / ranked.c.n
    )  # bins are ordered: the first bin at the rank has the least mean
    query = select(
        ranked.c.kind,
        ranked.c.b,
        ranked.c.k,
        func.max(ranked.c.total),
        func.min(case((ranked.c.below >= ranked.c.total * 0.5, mean))),
        func.min(case((ranked.c.below >= ranked.c.total * 0.9, mean))),
    ).group_by(ranked.c.kind, ranked.c.b, ranked.c.k)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, b_, k, n, p50, p90 in await session.execute(query):
        out.setdefault((str(b_), int(k)), {})[kind] = {
            "count": int(n),
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
