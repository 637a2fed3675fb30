"""Reports (inbox/reports.py) against figures worked out by hand from a small week of texts
written to the store: per inbox and per agent, per day and per week, the totals, the CSV, the
first responses past the target; and who may ask, and bad questions."""

from __future__ import annotations

import csv
import importlib.util
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from inbox import report_days
from inbox.db import MIGRATIONS_DIR
from inbox.models import Conversation, Inbox, Message, OptOut
from tests.conftest import Running
from tests.helpers import FRONT_DESK, login, open_store

CAROL, BOB = 2, 3
RANGE = "from=2026-11-02&to=2026-11-09"


def _backfill() -> str:
    """The revision's SQL that finds every earlier reply's wait in the messages (texts written
    straight to the store, as here, have no recorded waits until it runs)."""
    path = MIGRATIONS_DIR / "versions" / "0009_supervisors.py"
    spec = importlib.util.spec_from_file_location("supervisors_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.RESPONSE_TIMES)


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def seed_week(database_url: str) -> None:
    """C1 (Mon 2 Nov): in 09:00, in 09:02, Bob 09:10 (600 s), in 10:00, Carol 10:30 (1800 s),
    an automatic text and a note. C2 (Tue): in 12:00, Bob 12:01 (60 s), in 13:00 unanswered,
    STOP at 13:05. C3 (Mon 9 Nov): in 08:00, Bob 08:20 (1200 s), archived 09:00, a bulk text."""
    async with open_store(database_url) as db, db.write() as session:
        inbox = await session.get(Inbox, 1)
        assert inbox is not None
        inbox.sla_minutes = 15.0  # 900 s: C3's first response (1200 s) is past it
        session.add(inbox)
        texts: list[tuple[Conversation, list[tuple[str, datetime, dict[str, Any]]]]] = []
        c1 = Conversation(
            team_id=1, inbox_id=1, counterparty="+15559990001", created_at=at(2, 9, 0)
        )
        c2 = Conversation(
            team_id=1, inbox_id=1, counterparty="+15559990002", created_at=at(3, 12, 0)
        )
        c3 = Conversation(
            team_id=1,
            inbox_id=1,
            counterparty="+15559990003",
            created_at=at(9, 8, 0),
            status="archived",
            archived_at=at(9, 9, 0),
        )
        session.add_all([c1, c2, c3])
        await session.flush()
        texts = [
            (c1, [
                ("inbound", at(2, 9, 0), {}),
                ("inbound", at(2, 9, 2), {}),
                ("outbound", at(2, 9, 10), {"sender_id": BOB}),
                ("inbound", at(2, 10, 0), {}),
                ("outbound", at(2, 10, 30), {"sender_id": CAROL, "segments": 2}),
                ("outbound", at(2, 10, 31), {"automatic": True}),
                ("note", at(2, 10, 32), {"sender_id": BOB}),
            ]),
            (c2, [
                ("inbound", at(3, 12, 0), {}),
                ("outbound", at(3, 12, 1), {"sender_id": BOB}),
                ("inbound", at(3, 13, 0), {}),
            ]),
            (c3, [
                ("inbound", at(9, 8, 0), {}),
                ("outbound", at(9, 8, 20), {"sender_id": BOB}),
                ("outbound", at(9, 10, 0), {"sender_id": BOB, "bulk": True}),
            ]),
        ]  # fmt: skip
        for conversation, rows in texts:
            assert conversation.id is not None
            for direction, when, extra in rows:
                session.add(
                    Message(
                        team_id=1,
                        inbox_id=1,
                        conversation_id=conversation.id,
                        direction=direction,
                        body="text",
                        status="delivered",
                        created_at=when,
                        updated_at=when,
                        **extra,
                    )
                )
        session.add(OptOut(inbox_id=1, number=c2.counterparty, created_at=at(3, 13, 5)))
        await session.flush()
        await session.execute(text(_backfill()))
        await report_days.rebuild(session)  # rows written straight to the store: counted now


def times(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median_secs": median, "p90_secs": p90}


def first(count: int, median: float | None, p90: float | None, late: int) -> dict[str, Any]:
    return {**times(count, median, p90), "past_target": late}


def inbox_row(bucket: str, counts: tuple[int, ...], fr: Any, rt: Any) -> dict[str, Any]:
    names = ("texts_in", "texts_out", "segments", "opened", "archived", "opt_outs")
    return {
        "bucket": bucket,
        "inbox_id": 1,
        "name": "Front Desk",
        **dict(zip(names, counts, strict=True)),
        "first_response": fr,
        "response": rt,
    }


async def test_per_inbox_per_day_and_week_match_the_hand_count(app_server: Running) -> None:
    await seed_week(app_server.settings.database_url)
    carol = await login(app_server.url, "carol")
    daily = await carol.get(f"/api/v1/reports?{RANGE}&bucket=day&group=inbox")
    assert daily.status_code == 200, daily.text
    body = daily.json()
    assert (body["from"], body["to"], body["bucket"]) == ("2026-11-02", "2026-11-09", "day")
    assert body["rows"] == [
        inbox_row("2026-11-02", (3, 3, 4, 1, 0, 0), first(1, 600, 600, 0), times(2, 600, 1800)),
        inbox_row("2026-11-03", (2, 1, 1, 1, 0, 1), first(1, 60, 60, 0), times(1, 60, 60)),
        inbox_row("2026-11-09", (1, 2, 2, 1, 1, 0), first(1, 1200, 1200, 1), times(1, 1200, 1200)),
    ]
    # Over the range: medians of all the values (nearest rank), not of the days' medians.
    assert body["totals"] == [
        inbox_row("total", (6, 6, 7, 3, 1, 1), first(3, 600, 1200, 1), times(4, 600, 1800))
    ]
    weekly = (await carol.get(f"/api/v1/reports?{RANGE}&bucket=week")).json()
    assert weekly["rows"] == [
        inbox_row("2026-11-02", (5, 4, 5, 2, 0, 1), first(2, 60, 600, 0), times(3, 600, 1800)),
        inbox_row("2026-11-09", (1, 2, 2, 1, 1, 0), first(1, 1200, 1200, 1), times(1, 1200, 1200)),
    ]


async def test_per_agent_counts_their_replies_and_response_times(app_server: Running) -> None:
    await seed_week(app_server.settings.database_url)
    carol = await login(app_server.url, "carol")
    body = (await carol.get(f"/api/v1/reports?{RANGE}&group=agent")).json()

    def agent(bucket: str, user: int, out: int, segments: int, fr: Any, rt: Any) -> Any:
        name = {BOB: "Bob Agent", CAROL: "Carol Supervisor"}[user]
        nothing = dict.fromkeys(("texts_in", "opened", "archived", "opt_outs"))
        return {
            "bucket": bucket, "user_id": user, "name": name, **nothing,
            "texts_out": out, "segments": segments, "first_response": fr, "response": rt,
        }  # fmt: skip

    def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = ("bucket", "user_id", "name", "texts_in", "texts_out", "segments", "opened")
        keys = (*names, "archived", "opt_outs", "first_response", "response")
        return [{k: r[k] for k in keys} for r in rows]

    none = first(0, None, None, 0)
    assert ordered(body["rows"]) == ordered([
        agent("2026-11-02", CAROL, 1, 2, none, times(1, 1800, 1800)),
        agent("2026-11-02", BOB, 1, 1, first(1, 600, 600, 0), times(1, 600, 600)),
        agent("2026-11-03", BOB, 1, 1, first(1, 60, 60, 0), times(1, 60, 60)),
        agent("2026-11-09", BOB, 2, 2, first(1, 1200, 1200, 1), times(1, 1200, 1200)),
    ])  # fmt: skip
    assert ordered(body["totals"]) == ordered([
        agent("total", CAROL, 1, 2, none, times(1, 1800, 1800)),
        agent("total", BOB, 4, 4, first(3, 600, 1200, 1), times(3, 600, 1200)),
    ])  # fmt: skip


async def test_the_csv_has_the_same_figures(app_server: Running) -> None:
    await seed_week(app_server.settings.database_url)
    carol = await login(app_server.url, "carol")
    response = await carol.get(f"/api/v1/reports?{RANGE}&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "switchboard-inbox-2026-11-02-2026-11-09.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["bucket"] for r in rows] == ["2026-11-02", "2026-11-03", "2026-11-09", "total"]
    total = rows[-1]
    assert (total["texts_in"], total["texts_out"], total["segments"]) == ("6", "6", "7")
    assert (total["response_median_secs"], total["response_p90_secs"]) == ("600.0", "1800.0")
    assert total["first_response_past_target"] == "1"


async def test_a_reply_records_the_wait_it_ended(app_server: Running) -> None:
    """The running server records each reply's wait as it stores the reply: two texts, the
    wait counted from the first; an automatic answer and a second reply wait for nothing."""
    number = "+15559990009"
    for body in ("Hello?", "Anyone there?"):
        assert (await app_server.twilio.inbound(FRONT_DESK, number, body)).status_code == 200
    bob = await login(app_server.url, "bob")
    listed = (await bob.get("/api/v1/inboxes/1/conversations?q=5559990009")).json()["items"]
    (conversation,) = listed
    assert conversation["waiting_since"] is not None
    for body in ("Yes, here.", "How can I help?"):
        sent = await bob.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"body": body}
        )
        assert sent.status_code in (200, 201), sent.text
    carol = await login(app_server.url, "carol")
    (today,) = (await carol.get("/api/v1/reports?group=agent&bucket=week")).json()["totals"]
    assert today["user_id"] == BOB
    assert today["texts_out"] == 2
    assert today["response"]["count"] == 1 and today["first_response"]["count"] == 1
    assert 0 <= today["first_response"]["median_secs"] < 60
    after = (await bob.get("/api/v1/inboxes/1/conversations?q=5559990009")).json()["items"]
    assert after[0]["waiting_since"] is None


async def test_an_agent_may_not_read_reports_and_only_seen_inboxes_count(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    response = await bob.get(f"/api/v1/reports?{RANGE}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert (await bob.get("/reports")).status_code == 403
    carol = await login(app_server.url, "carol")
    assert (await carol.get("/reports")).status_code == 200
    missing = await carol.get(f"/api/v1/reports?{RANGE}&inbox_id=999")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "bucket=month",
        "group=team",
        "from=2026-13-01",
        "from=2026-11-09&to=2026-11-02",
        "from=2025-01-01&to=2026-11-02",
        "inbox_id=abc",
    ],
)
async def test_bad_report_questions_get_a_clear_error(app_server: Running, query: str) -> None:
    carol = await login(app_server.url, "carol")
    response = await carol.get(f"/api/v1/reports?{query}")
    assert response.status_code in (404, 422), response.text
    assert set(response.json()["error"]) == {"code", "message"}
