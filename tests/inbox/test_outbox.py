"""The outbox in the store (inbox/outbox.py), through the app's own code on the test's store:
claims, claims that run out, and what settling records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from inbox import conversations, outbound, outbox
from inbox.db import Database
from inbox.delivery import Schedule, Tried
from inbox.errors import SmsError
from inbox.models import Inbox, Message, Outbox, User, utcnow
from inbox.providers.base import SendResult
from server.demo import seed_demo
from tests.helpers import open_store

SCHEDULE = Schedule(first_backoff_secs=1.0, attempts=3)
CLAIM_SECS = 60.0


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Database]:
    async with open_store(database_url) as db:
        await db.upgrade()
        await seed_demo(db)
        yield db


async def queue(db: Database, number: str, *bodies: str) -> list[int]:
    async with db.write() as session:
        inbox, bob = await session.get(Inbox, 1), await session.get(User, 3)
        assert inbox is not None and bob is not None
        conversation, _ = await conversations.get_or_create_conversation(session, inbox, number)
        ids = []
        for body in bodies:
            (queued,) = await outbound.queue(session, inbox, bob, body, [conversation])
            assert queued.message is not None and queued.message.id is not None
            ids.append(queued.message.id)
        return ids


async def claim(db: Database, token: str, later_secs: float = 0.0) -> list[outbox.Claimed]:
    async with db.write() as session:
        now = utcnow() + timedelta(seconds=later_secs)
        return await outbox.claim(session, token, now, CLAIM_SECS, 50)


async def settle(db: Database, token: str, *tried: Tried) -> list[str | None]:
    """Settle, record what the messages must, and return each message's stored sid."""
    async with db.write() as session:
        outcomes = await outbox.settle(session, token, tried, utcnow(), SCHEDULE)
        await outbound.record_outcomes(session, outcomes)
    async with db.read() as session:
        sids = await session.execute(
            select(col(Message.id), col(Message.provider_sid)).where(
                col(Message.id).in_([t.message_id for t in tried])
            )
        )
        by_id = dict(sids.all())
    return [by_id.get(t.message_id) for t in tried]


async def owed(db: Database) -> dict[int, Outbox]:
    async with db.read() as session:
        return {row.message_id: row for row in await session.scalars(select(Outbox))}


async def test_two_attempts_that_found_the_same_twilio_text_give_it_to_one_message(
    store: Database,
) -> None:
    """Two texts with the same words, both in doubt in one batch, can both find the same Twilio
    message: the first takes it, the second stays owed (in doubt, that sid excluded now)."""
    first, second = await queue(store, "+15552050001", "Same words.", "Same words.")
    claimed = await claim(store, "p1")
    assert [c.message_id for c in claimed] == [first, second]
    found = SendResult("SM" + "1" * 32, "queued")
    sids = await settle(store, "p1", Tried(first, sent=found), Tried(second, sent=found))
    assert sids == [found.sid, None]
    left = await owed(store)
    assert list(left) == [second]
    assert left[second].in_doubt and left[second].claimed_by is None
    (again,) = await claim(store, "p1", later_secs=SCHEDULE.first_backoff_secs * 10)
    assert again.ask_first and again.exclude == {found.sid}


async def test_a_claim_that_ran_out_is_taken_over_in_doubt_and_the_old_owner_is_ignored(
    store: Database,
) -> None:
    (text,) = await queue(store, "+15552050002", "Hello.")
    (mine,) = await claim(store, "dead")
    assert not mine.ask_first and mine.attempt == 1
    assert await claim(store, "other") == []  # claimed: nobody else takes it
    (taken,) = await claim(store, "other", later_secs=CLAIM_SECS + 1)
    assert taken.ask_first and taken.attempt == 2  # the dead process may have reached Twilio
    # The first owner comes back with a failure: the row is the other's now, untouched.
    failed = Tried(
        text, error=SmsError("timed out", retryable=True, maybe_done=True), in_doubt=True
    )
    assert await settle(store, "dead", failed) == [None]
    assert (await owed(store))[text].claimed_by == "other"
    # ... but a sid it got from Twilio is recorded, and settles the text for everyone.
    sent = SendResult("SM" + "2" * 32, "queued")
    assert await settle(store, "dead", Tried(text, sent=sent)) == [sent.sid]
    assert await owed(store) == {}
    assert await settle(store, "other", Tried(text, sent=sent)) == [sent.sid]


async def test_an_untried_text_is_handed_back_as_it_was(store: Database) -> None:
    (text,) = await queue(store, "+15552050003", "Later.")
    await claim(store, "p1")
    await settle(store, "p1", Tried(text, error=SmsError("503", retryable=True), in_doubt=True))
    (claimed,) = await claim(store, "p1", later_secs=60)
    assert claimed.attempt == 2 and claimed.ask_first
    await settle(store, "p1", Tried(text, in_doubt=claimed.ask_first, started=False))
    row = (await owed(store))[text]
    assert (row.attempts, row.in_doubt, row.claimed_by) == (1, True, None)


async def test_the_last_attempt_ends_failed_with_the_reason(store: Database) -> None:
    (text,) = await queue(store, "+15552050004", "Anyone?")
    error = SmsError("sending a text: Twilio answered 503 (20500): down", "20500", retryable=True)
    for attempt in range(1, SCHEDULE.attempts + 1):
        (claimed,) = await claim(store, "p1", later_secs=1000 * attempt)
        assert claimed.attempt == attempt
        await settle(store, "p1", Tried(text, error=error))
    assert await owed(store) == {}
    async with store.read() as session:
        message = await session.get(Message, text)
    assert message is not None
    assert (message.status, message.error_code) == ("failed", "20500")
    assert message.error_message == error.message
