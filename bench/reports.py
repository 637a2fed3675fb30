"""How long a report takes on a year of a busy team's data (docs/performance.md, "Reports").

    .venv/bin/python bench/reports.py [--messages 1000000] [--inboxes 20] [--agents 200]
                                      [--store sqlite|URL] [--runs 5]

Generates, straight into a fresh store made by the migrations (the indexes are the ones the
server has): one team, `--agents` agents spread over `--inboxes` inboxes, and `--messages` texts
over the 365 days before now in conversations of about ten texts (an inbound text, mostly
answered by an agent of the inbox after a few minutes to hours; some automatic answers, bulk
texts, opt-outs, archived conversations), and the replies' waits as revision 0008 finds them
in old messages (the server records them with each reply). Then asks inbox/reports.py for the
whole year per inbox per week, per agent per week, per inbox per day, and one inbox's last 30 days,
`--runs` times each, and prints the time of each question as percentiles.
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
from inbox import reports  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.models import (  # noqa: E402
    Conversation,
    Inbox,
    InboxMember,
    Message,
    OptOut,
    Team,
    User,
)

CHUNK = 20_000  # rows per INSERT batch


def backfill_sql() -> str:
    path = Path(__file__).resolve().parent.parent / "inbox/migrations/versions/0009_supervisors.py"
    spec = importlib.util.spec_from_file_location("supervisors_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.RESPONSE_TIMES)


async def generate(db: Database, n_messages: int, n_inboxes: int, n_agents: int) -> None:
    rng = random.Random(20)
    now = datetime.now(UTC)
    year_ago = now - timedelta(days=365)
    async with db.write() as session:
        session.add(Team(id=1, name="Busy"))
        await session.flush()
        await session.execute(
            insert(Inbox),
            [
                {"id": i, "team_id": 1, "name": f"Inbox {i}", "code": f"in{i}", "sla_minutes": 30.0}
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
    cid = 0

    async def flush(final: bool = False) -> None:
        nonlocal conversations, messages
        if len(messages) < CHUNK and not final:
            return
        async with db.write() as session:
            if conversations:
                await session.execute(insert(Conversation), conversations)
            if messages:
                await session.execute(insert(Message), messages)
            if final and opt_outs:
                await session.execute(insert(OptOut), opt_outs)
        conversations, messages = [], []

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
        for _ in range(rng.randint(3, 8)):
            messages.append(_message(cid, inbox, "inbound", when, None))
            when += timedelta(seconds=rng.expovariate(1 / 900))
            if rng.random() < 0.85:
                messages.append(
                    _message(cid, inbox, "outbound", when, rng.choice(per_inbox[inbox]))
                )
            elif rng.random() < 0.5:
                messages.append(_message(cid, inbox, "outbound", when, None, automatic=True))
            when += timedelta(seconds=rng.expovariate(1 / 3600))
        if rng.random() < 0.05:
            messages.append(_message(cid, inbox, "outbound", when, per_inbox[inbox][0], bulk=True))
        if rng.random() < 0.02:
            opt_outs.append({"inbox_id": inbox, "number": f"+1555{cid:07d}", "created_at": when})
        if len(messages) >= CHUNK:
            made += len(messages)
            await flush()
    made += len(messages)
    await flush(final=True)


def _message(
    cid: int, inbox: int, direction: str, when: datetime, sender: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "team_id": 1, "inbox_id": inbox, "conversation_id": cid, "direction": direction,
        "body": "text", "status": "delivered", "sender_id": sender, "segments": 1,
        "created_at": when, "updated_at": when, **extra,
    }  # fmt: skip


async def measure(db: Database, n_inboxes: int, runs: int) -> None:
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--inboxes", type=int, default=20)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store
        if url == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        await db.upgrade()
        started = time.perf_counter()
        await generate(db, args.messages, args.inboxes, args.agents)
        print(f"generated {args.messages} texts in {time.perf_counter() - started:.0f} s")  # noqa: T201
        started = time.perf_counter()
        async with db.write() as session:  # the replies' waits, as the revision finds them
            await session.execute(text(backfill_sql()))
        print(f"revision 0008's backfill of the waits: {time.perf_counter() - started:.1f} s")  # noqa: T201
        await measure(db, args.inboxes, args.runs)
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
