"""Opt-out: STOP-family keywords opt a number out of an inbox's texts, START-family ones opt it
back in, and HELP-family ones get the inbox's help text. A keyword counts only as the whole
body (case and surrounding space ignored), as carriers match them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import report_days
from inbox.models import Inbox, OptOut

# The CTIA / Twilio standard keyword sets.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# Answered to HELP when an inbox has no help text of its own.
DEFAULT_HELP_TEXT = "{name}: reply to this number to reach us. Reply STOP to opt out."

KeywordAction = str  # "stop" | "start" | "help"


def keyword_action(body: str) -> KeywordAction | None:
    word = body.strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def help_text(inbox: Inbox) -> str:
    return inbox.help_text or DEFAULT_HELP_TEXT.format(name=inbox.name)


async def is_opted_out(session: AsyncSession, inbox_id: int, number: str) -> bool:
    return await session.get(OptOut, (inbox_id, number)) is not None


async def opted_out_numbers(session: AsyncSession, inbox_id: int) -> set[str]:
    rows = await session.scalars(select(col(OptOut.number)).where(col(OptOut.inbox_id) == inbox_id))
    return set(rows)


async def opt_out(session: AsyncSession, inbox_id: int, number: str) -> bool:
    """Opt the number out; return whether that changed anything."""
    if await is_opted_out(session, inbox_id, number):
        return False
    row = OptOut(inbox_id=inbox_id, number=number)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False  # a concurrent STOP got there first
    await _count(session, inbox_id, [row.created_at], 1)
    return True


async def opt_in(session: AsyncSession, inbox_id: int, number: str) -> bool:
    """Opt the number back in; return whether that changed anything."""
    gone = await session.execute(
        delete(OptOut)
        .where(col(OptOut.inbox_id) == inbox_id, col(OptOut.number) == number)
        .returning(col(OptOut.created_at))
    )
    since = list(gone.scalars())
    await _count(session, inbox_id, since, -1)  # the reports count current opt-outs
    return bool(since)


async def _count(session: AsyncSession, inbox_id: int, when: list[datetime], sign: int) -> None:
    tally = report_days.Tally()
    for at in when:
        tally.add(inbox_id, at, opt_outs=sign)
    await report_days.count(session, tally)
