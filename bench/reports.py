"""How long a report takes on a year of a busy team's data (docs/performance.md, "Reports").

    .venv/bin/python bench/reports.py [--messages 1000000] [--inboxes 20] [--agents 200]
                                      [--store sqlite|postgres|URL] [--runs 5] [--raw]
                                      [--write-path 2000] [--keep bench.db] [--parts]

Generates a year of one team into a fresh store made by the migrations: `--agents` agents spread
over `--inboxes` inboxes, and `--messages` texts over the 365 days before now in conversations of
3-8 customer texts (each mostly answered by an agent of the inbox after minutes to hours; some
automatic answers, bulk texts, opt-outs, archived conversations). What the reports read is
counted as the app counts it (inbox/report_days.py's `Tally`, one `count` per chunk); with
`--raw` the texts are written too and counted from the rows (`report_days.rebuild`) instead
(a million raw texts take too long to generate here). Then asks inbox/reports.py for the whole
year per inbox per week, per agent per week, per inbox per day, and one inbox's last 30 days,
`--runs` times each, and prints the time of each question as percentiles.

`--keep FILE` (SQLite) generates into FILE and keeps it, or reuses it when it is there (no new
year generated). `--parts` also times each query of every question on its own (the counts, the
histograms, the names).

`--write-path N` also stores N inbound texts through the app's batch path (inbox/inbound.py, 20
a batch), alternating batches with the counting on and off, and prints the cost per text of
each and their ratio: what keeping the counts costs the write path.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stats import percentile  # noqa: E402
from inbox import report_days, reports  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.inbound import InboundText, receive_inbound  # noqa: E402
from inbox.models import (  # noqa: E402
    Conversation,
    Inbox,
    InboxMember,
    Message,
    OptOut,
    Team,
    User,
)
from tests.stores import PostgresCluster  # noqa: E402

CHUNK = 20_000  # rows per INSERT batch
TO = "+15005550100"  # the inbox the write path's texts reach
BATCH = 20  # texts per write transaction on the write path: a busy webhook's batch


def backfill_sql() -> str:
    path = Path(__file__).resolve().parent.parent / "inbox/migrations/versions/0009_supervisors.py"
    spec = importlib.util.spec_from_file_location("supervisors_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.RESPONSE_TIMES)


async def generate(db: Database, n_messages: int, n_inboxes: int, n_agents: int, raw: bool) -> None:
    rng = random.Random(20)
    now = datetime.now(UTC)
    year_ago = now - timedelta(days=365)
    sla_minutes = 30.0
    async with db.write() as session:
        session.add(Team(id=1, name="Busy"))
        await session.flush()
        await session.execute(
            insert(Inbox),
            [
                {
                    "id": i,
                    "team_id": 1,
                    "name": f"Inbox {i}",
                    "code": f"in{i}",
                    "sla_minutes": sla_minutes,
                }  # fmt: skip
                for i in range(1, n_inboxes + 1)
            ],
        )
        await session.execute(
            insert(User),
            [
                {"id": u, "team_id": 1, "username": f"agent{u}", "name": f"Agent {u}"}
                for u in range(1, n_agents + 1)
            ],
        )
        await session.execute(
            insert(InboxMember),
            [{"inbox_id": 1 + (u % n_inboxes), "user_id": u} for u in range(1, n_agents + 1)],
        )
    per_inbox = {
        i: [u for u in range(1, n_agents + 1) if 1 + (u % n_inboxes) == i]
        for i in range(1, n_inboxes + 1)
    }
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    opt_outs: list[dict[str, Any]] = []
    tally = report_days.Tally()
    cid = 0

    async def flush(final: bool = False) -> None:
        nonlocal conversations, messages
        if len(messages) < CHUNK and not final:
            return
        async with db.write() as session:
            if raw:
                if conversations:
                    await session.execute(insert(Conversation), conversations)
                if messages:
                    await session.execute(insert(Message), messages)
                if final and opt_outs:
                    await session.execute(insert(OptOut), opt_outs)
        conversations, messages = [], []

    def add(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["direction"] == "inbound":
            tally.add(message["inbox_id"], message["created_at"], texts_in=1)
        else:
            tally.add(
                message["inbox_id"], message["created_at"], message["sender_id"],
                texts_out=1, segments=message["segments"],
            )  # fmt: skip

    made = 0
    while made < n_messages:
        cid += 1
        inbox = rng.randint(1, n_inboxes)
        when = year_ago + timedelta(seconds=rng.uniform(0, 365 * 86400 - 3600 * 48))
        archived = when + timedelta(hours=rng.uniform(1, 48)) if rng.random() < 0.6 else None
        conversations.append(
            {
                "id": cid, "team_id": 1, "inbox_id": inbox, "counterparty": f"+1555{cid:07d}",
                "status": "archived" if archived else "open", "created_at": when,
                "archived_at": archived, "last_message_at": when,
            }
        )  # fmt: skip
        tally.add(inbox, when, opened=1)
        if archived:
            tally.add(inbox, archived, archived=1)
        first = True
        for _ in range(rng.randint(3, 8)):
            add(_message(cid, inbox, "inbound", when, None))
            waiting = when
            when += timedelta(seconds=rng.expovariate(1 / 900))
            if rng.random() < 0.85:  # a reply: the wait ends, as inbox/outbound.py counts it
                agent = rng.choice(per_inbox[inbox])
                add(_message(cid, inbox, "outbound", when, agent))
                tally.wait(inbox, agent, waiting, when, first)
                if first and report_days.is_late(waiting, when, sla_minutes):
                    tally.add(inbox, waiting, agent, first_late=1)
                first = False
            elif rng.random() < 0.5:
                add(_message(cid, inbox, "outbound", when, None, automatic=True))
            when += timedelta(seconds=rng.expovariate(1 / 3600))
        if rng.random() < 0.05:
            add(_message(cid, inbox, "outbound", when, per_inbox[inbox][0], bulk=True))
        if rng.random() < 0.02:
            opt_outs.append({"inbox_id": inbox, "number": f"+1555{cid:07d}", "created_at": when})
            tally.add(inbox, when, opt_outs=1)
        if len(messages) >= CHUNK:
            made += len(messages)
            await flush()
    made += len(messages)
    await flush(final=True)
    if not raw:  # the year's counts, an inbox's or an agent's at a time (a histogram row is big)
        await _count(db, tally)


async def _count(db: Database, tally: report_days.Tally) -> None:
    parts: dict[tuple[int, int], report_days.Tally] = {}
    for day_key, figures in tally.days.items():
        parts.setdefault(day_key[:2], report_days.Tally()).days[day_key] = figures
    for wait_key, binned in tally.waits.items():
        parts.setdefault(wait_key[:2], report_days.Tally()).waits[wait_key] = binned
    for part in parts.values():
        async with db.write() as session:
            await report_days.count(session, part)


def _message(
    cid: int, inbox: int, direction: str, when: datetime, sender: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "team_id": 1, "inbox_id": inbox, "conversation_id": cid, "direction": direction,
        "body": "text", "status": "delivered", "sender_id": sender, "segments": 1,
        "created_at": when, "updated_at": when, **extra,
    }  # fmt: skip


async def measure(db: Database, n_inboxes: int, runs: int, parts: bool) -> None:
    today = datetime.now(UTC).date()
    year = reports.Range.of((today - timedelta(days=364)).isoformat(), today.isoformat(), today)
    month = reports.Range.of((today - timedelta(days=29)).isoformat(), today.isoformat(), today)
    every = set(range(1, n_inboxes + 1))
    questions = [
        ("year, per inbox per week", every, year, "week", "inbox"),
        ("year, per agent per week", every, year, "week", "agent"),
        ("year, per inbox per day", every, year, "day", "inbox"),
        ("one inbox, 30 days per day", {1}, month, "day", "inbox"),
    ]
    for name, inboxes, span, bucket, group in questions:
        took = []
        for _ in range(runs):
            started = time.perf_counter()
            async with db.read() as session:
                result = await reports.report(session, inboxes, span, bucket, group)  # type: ignore[arg-type]
            took.append(time.perf_counter() - started)
        rows = len(result["rows"])
        print(  # noqa: T201
            f"{name:32} rows {rows:5}  p50 {percentile(took, 50):6.3f} s"
            f"  p90 {percentile(took, 90):6.3f} s  max {max(took):6.3f} s"
        )
        if parts:
            await _measure_parts(db, sorted(inboxes), span, bucket, group, runs)


async def _measure_parts(
    db: Database, ids: list[int], span: Any, bucket: Any, group: Any, runs: int
) -> None:
    """Each query of a report on its own: where its time goes."""
    took: dict[str, list[float]] = {"counts": [], "histograms": [], "names": []}
    for _ in range(runs):
        async with db.read() as session:
            started = time.perf_counter()
            counts = await reports._counts(session, ids, span, bucket, group)
            took["counts"].append(time.perf_counter() - started)
            started = time.perf_counter()
            spells = await reports._spells(session, ids, span, bucket, group)
            took["histograms"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await reports._names(session, group, {k for _, k in (*counts, *spells)})
            took["names"].append(time.perf_counter() - started)
    for part, times in took.items():
        print(  # noqa: T201
            f"  {part:30} p50 {percentile(times, 50):6.3f} s  p90 {percentile(times, 90):6.3f} s"
        )


async def write_path(db: Database, n_texts: int) -> None:
    """The inbound batch path's cost per text with the report counting on and off, in turns."""
    async with db.write() as session:
        inbox = await session.get(Inbox, 1)
        assert inbox is not None
        inbox.phone_number = TO
        session.add(inbox)
    counting = report_days.count

    async def not_counting(session: Any, tally: Any, sign: int = 1) -> None:
        return None

    took: dict[bool, list[float]] = {True: [], False: []}
    sent = 0
    while sent < n_texts:
        for on in (True, False):  # each text a new customer's: both ways open as many
            batch = [
                InboundText(TO, f"+1666{sent + i:07d}", "hello", f"SMbench{sent + i}")
                for i in range(BATCH)
            ]
            sent += BATCH
            report_days.count = counting if on else not_counting  # type: ignore[assignment]
            started = time.perf_counter()
            async with db.write() as session:
                await receive_inbound(session, batch)
            took[on].append((time.perf_counter() - started) / BATCH)
    report_days.count = counting  # type: ignore[assignment]
    with_, without = (percentile(took[on], 50) * 1e6 for on in (True, False))
    print(  # noqa: T201
        f"inbound batch path, per text (p50 of {len(took[True])} batches of {BATCH} each way):"
        f" counting {with_:.0f} us, not counting {without:.0f} us, ratio {with_ / without:.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--inboxes", type=int, default=20)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--write-path", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="SQLite: the store file to make once and reuse")
    parser.add_argument("--parts", action="store_true")
    args = parser.parse_args()
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store
        kept = args.keep is not None and args.keep.exists()
        if url == "sqlite":
            url = f"sqlite+aiosqlite:///{(args.keep or Path(tmp) / 'bench.db').resolve()}"
        elif url == "postgres":
            cluster = PostgresCluster()
            cluster.start()
            url = cluster.create_empty_database()
        db = Database(url)
        try:
            await db.upgrade()
            started = time.perf_counter()
            if kept:
                print(f"reusing {args.keep}")  # noqa: T201
            else:
                await generate(db, args.messages, args.inboxes, args.agents, args.raw)
                how = "texts" if args.raw else "texts' counts"
                print(f"generated {args.messages} {how} in {time.perf_counter() - started:.0f} s")  # noqa: T201
            if args.raw and not kept:
                started = time.perf_counter()
                async with db.write() as session:  # the waits, then the counts, from the rows
                    await session.execute(text(backfill_sql()))
                    await report_days.rebuild(session)
                print(f"counted from the rows in {time.perf_counter() - started:.1f} s")  # noqa: T201
            async with db.read() as session:
                for table in ("report_day", "report_wait"):
                    n = await session.scalar(text(f"SELECT count(*) FROM {table}"))
                    print(f"{table}: {n} rows")  # noqa: T201
            await measure(db, args.inboxes, args.runs, args.parts)
            if args.write_path:
                await write_path(db, args.write_path)
        finally:
            await db.dispose()
            if cluster is not None:
                cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
