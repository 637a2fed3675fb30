"""The reports read from the per-day counts (inbox/report_days.py): over generated texts at
varied times they say what the raw rows say (counts exactly, medians and p90s to the bin), and
the counts kept live by the app's own writes equal what revision 0010 fills from the rows."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text
from sqlmodel import col

from inbox import conversations, deletion, optout, outbound, report_days, reports, triage
from inbox.db import Database
from inbox.inbound import InboundText, receive_inbound
from inbox.models import (
    REPORT_WAIT,
    Conversation,
    Inbox,
    Message,
    OptOut,
    ReportDay,
    ResponseTime,
    User,
)
from server.demo import seed_demo
from tests.helpers import FRONT_DESK, open_store
from tests.inbox.test_migrations import _migrate
from tests.server.test_reports import _backfill

BOB, CAROL = 3, 2
MONDAY = datetime(2026, 2, 23, tzinfo=UTC)
# From a Thursday to a Friday: part weeks at both ends, and March whole (inbox/reports.py reads
# whole weeks and months from their own histograms, the rest from the days').
SPAN = reports.Range(datetime(2026, 2, 26, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Database]:
    async with open_store(database_url) as db:
        await db.upgrade()
        await seed_demo(db)
        yield db


# A conversation: when it opened, then its texts (minutes after the previous one, inbound or
# who replied), and whether it was archived at the end.
texts = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=3000),
        st.sampled_from(["inbound", "inbound", BOB, CAROL, "automatic"]),
    ),
    min_size=1,
    max_size=6,
)
conversations_ = st.lists(
    st.tuples(st.floats(min_value=0, max_value=45 * 24 * 60), texts, st.booleans()),
    min_size=1,
    max_size=12,
)


async def _write(db: Database, generated: list[Any]) -> None:
    async with db.write() as session:
        for table in (REPORT_WAIT, ReportDay, ResponseTime, Message, OptOut, Conversation):
            await session.execute(delete(table))
        for n, (opened_after, rows, archived) in enumerate(generated):
            at = MONDAY + timedelta(minutes=opened_after)
            conversation = Conversation(
                team_id=1, inbox_id=1, counterparty=f"+1555000{n:04d}", created_at=at
            )
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            for minutes, who in rows:
                at += timedelta(minutes=minutes)
                session.add(
                    Message(
                        team_id=1,
                        inbox_id=1,
                        conversation_id=conversation.id,
                        direction="inbound" if who == "inbound" else "outbound",
                        body="text",
                        status="delivered",
                        sender_id=who if isinstance(who, int) else None,
                        automatic=who == "automatic",
                        segments=1 + int(minutes) % 3,
                        created_at=at,
                        updated_at=at,
                    )
                )
            if archived:
                conversation.status, conversation.archived_at = "archived", at
            if n % 3 == 0:
                session.add(OptOut(inbox_id=1, number=conversation.counterparty, created_at=at))
        await session.flush()
        await session.execute(text(_backfill()))  # the replies' waits, as revision 0009 finds them
        await report_days.rebuild(session)


def _buckets_of(at: datetime, bucket: str) -> tuple[str, ...]:
    """The bucket of a moment and the totals, or none outside the report's range."""
    if not SPAN.start <= at < SPAN.end:
        return ()
    day = at.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday()) if bucket == "week" else day).isoformat(), "total"


def _ranked(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[next(r for r in range(1, len(ordered) + 1) if r >= len(ordered) * p) - 1]


async def _from_raw_rows(db: Database, bucket: str) -> dict[str, dict[str, Any]]:
    """The inbox's report worked out in Python from the raw rows: counts and exact waits."""
    out: dict[str, dict[str, Any]] = {}

    def at(key: str) -> dict[str, Any]:
        return out.setdefault(key, {"counts": dict.fromkeys(reports.COUNTS, 0), "waits": []})

    async with db.read() as session:
        for m in await session.scalars(select(Message).where(col(Message.direction) != "note")):
            for key in _buckets_of(m.created_at, bucket):
                figures = at(key)["counts"]
                if m.direction == "inbound":
                    figures["texts_in"] += 1
                else:
                    figures["texts_out"] += 1
                    figures["segments"] += m.segments
        for c in await session.scalars(select(Conversation)):
            for when, name in ((c.created_at, "opened"), (c.archived_at, "archived")):
                if when is not None:
                    for key in _buckets_of(when, bucket):
                        at(key)["counts"][name] += 1
        for o in await session.scalars(select(OptOut)):
            for key in _buckets_of(o.created_at, bucket):
                at(key)["counts"]["opt_outs"] += 1
        for r in await session.scalars(select(ResponseTime)):
            secs = (r.answered_at - r.started_at).total_seconds()
            for key in _buckets_of(r.started_at, bucket):
                at(key)["waits"].append((secs, r.first))
    return out


def _assert_within_the_bin(reported: float | None, exact: list[float], p: float) -> None:
    if not exact:
        assert reported is None
        return
    value = _ranked(exact, p)
    assert reported is not None
    width = 1.0 if value < report_days.EXACT_BELOW_SECS else value * (report_days.BIN_GROWTH - 1)
    assert math.isclose(reported, value, abs_tol=width + 0.05), (reported, value)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=conversations_, bucket=st.sampled_from(["day", "week"]))
async def test_reports_from_the_day_counts_say_what_the_raw_rows_say(
    store: Database, generated: list[Any], bucket: reports.Bucket
) -> None:
    await _write(store, generated)
    expected = await _from_raw_rows(store, bucket)
    async with store.read() as session:
        got = await reports.report(session, {1}, SPAN, bucket, "inbox")
    rows = {r["bucket"]: r for r in [*got["rows"], *got["totals"]]}
    assert sorted(rows) == sorted(expected)
    for key, want in expected.items():
        row = rows[key]
        assert {name: row[name] for name in reports.COUNTS} == want["counts"], key
        for kind, only_first in (("response", False), ("first_response", True)):
            waits = [secs for secs, first in want["waits"] if first or not only_first]
            assert row[kind]["count"] == len(waits)
            _assert_within_the_bin(row[kind]["median_secs"], waits, 0.5)
            _assert_within_the_bin(row[kind]["p90_secs"], waits, 0.9)


def test_short_waits_are_binned_to_the_second_and_long_ones_within_five_percent() -> None:
    assert [report_days.wait_bin(s) for s in (0, 0.9, 1, 59.99)] == [0, 0, 1, 59]
    bins = [report_days.wait_bin(s) for s in range(60, 100_000)]
    assert bins == sorted(bins) and bins[0] == 60
    for b in set(bins):  # each bin above a minute spans at most 5 % of its values
        inside = [s for s, got in zip(range(60, 100_000), bins, strict=True) if got == b]
        assert max(inside) <= min(inside) * report_days.BIN_GROWTH + 1


async def _report(db: Database, group: reports.Group) -> dict[str, Any]:
    today = date.today()
    span = reports.Range.of((today - timedelta(days=2)).isoformat(), None, today)
    async with db.read() as session:
        return await reports.report(session, {1}, span, "day", group)


async def test_the_backfill_revision_counts_what_the_app_counted_as_it_went(
    store: Database,
) -> None:
    """Texts in (two in one batch), replies and a second reply, an automatic text, an archive
    twice (only the last counts), STOP and START and STOP, a conversation deleted: the counts
    the app kept, and those revision 0010 fills from the rows afterwards, are the same."""
    numbers = [f"+1555987000{n}" for n in range(4)]
    (before,) = (await _report(store, "inbox"))["totals"]  # the demo's own texts
    async with store.write() as session:
        await receive_inbound(
            session, [InboundText(FRONT_DESK, n, "hi", f"SM{n}") for n in numbers[:3]]
        )
        await receive_inbound(session, [InboundText(FRONT_DESK, numbers[3], "yo", "SM9")])
        inbox, bob = await session.get(Inbox, 1), await session.get(User, BOB)
        assert inbox is not None and bob is not None
        inbox.sla_minutes = 0.0001  # every first response is past it
        found = {}
        for n in numbers:
            found[n], _ = await conversations.get_or_create_conversation(session, inbox, n)
        await outbound.queue(session, inbox, bob, "hello", [found[numbers[0]], found[numbers[1]]])
        await outbound.queue(session, inbox, bob, "and again", [found[numbers[0]]])
        await outbound.queue(session, inbox, None, "away", [found[numbers[2]]], automatic=True)
        for status in ("archived", "open", "archived"):
            await triage.set_status(session, found[numbers[0]], status)
        for change in (optout.opt_out, optout.opt_in, optout.opt_out):
            await change(session, 1, numbers[1])
        await optout.opt_out(session, 1, numbers[2])
        await deletion.delete_conversation(session, found[numbers[3]])
    live = {group: await _report(store, group) for group in ("inbox", "agent")}
    (total,) = live["inbox"]["totals"]
    added = {name: total[name] - before[name] for name in reports.COUNTS}
    assert added == {
        "texts_in": 3, "texts_out": 4, "segments": 4, "opened": 3, "archived": 1, "opt_outs": 2
    }  # fmt: skip
    late = total["first_response"]["past_target"] - before["first_response"]["past_target"]
    assert late == 2
    async with store.write_engine.begin() as conn:
        await conn.run_sync(_migrate, "0011_matters", True)
    async with store.write_engine.begin() as conn:
        await conn.run_sync(_migrate, "0012_report_days")
    for group in ("inbox", "agent"):
        assert await _report(store, group) == live[group]
