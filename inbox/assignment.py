"""Automatic assignment (docs/decisions.md, "Supervisors"): per inbox `off`, `round_robin` among
the members online now, or `least_busy` (fewest open conversations of the inbox), with a cap of
open conversations per agent. Runs inside the inbound text's write transaction, which every
process takes one at a time (the store's write lock), so two processes never give one
conversation two assignees, and round-robin's place is a column of the inbox. Who is online is
read from presence by the caller before the transaction and passed in."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.models import ASSIGNMENT_MODES, Conversation, Inbox, InboxMember, User

MAX_CAP = 10_000  # open conversations per agent; above this a cap means nothing
MAX_SLA_MINUTES = 7 * 24 * 60  # a week: a target longer than that is no target


def check_settings(given: dict[str, Any]) -> dict[str, Any]:
    """The assignment and SLA settings of an admin's request, checked."""
    out: dict[str, Any] = {}
    if "assignment" in given:
        if given["assignment"] not in ASSIGNMENT_MODES:
            raise InvalidInputError(f"assignment is one of {', '.join(ASSIGNMENT_MODES)}")
        out["assignment"] = given["assignment"]
    if "assignment_cap" in given:
        cap = given["assignment_cap"]
        if cap is not None and (
            isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP
        ):
            raise InvalidInputError(
                f"assignment_cap is a whole number from 1 to {MAX_CAP}, or null"
            )
        out["assignment_cap"] = cap
    if "sla_minutes" in given:
        sla = given["sla_minutes"]
        if sla is not None and (
            isinstance(sla, bool)
            or not isinstance(sla, int | float)
            or not 0 < sla <= MAX_SLA_MINUTES
        ):
            raise InvalidInputError(f"sla_minutes is a number above 0, at most {MAX_SLA_MINUTES}")
        out["sla_minutes"] = None if sla is None else float(sla)
    return out


async def _candidates(session: AsyncSession, inbox: Inbox, online: Collection[int]) -> list[int]:
    """Members who may be given a conversation now: people (not bots), not disabled, online;
    on an `agent` inbox that names receivers of unsolicited texts, only those."""
    query = (
        select(col(InboxMember.user_id))
        .join(User, col(User.id) == col(InboxMember.user_id))
        .where(
            col(InboxMember.inbox_id) == inbox.id,
            col(User.role) != "bot",
            col(User.disabled_at).is_(None),
            col(InboxMember.user_id).in_(list(online)),
        )
        .order_by(col(InboxMember.user_id))
    )
    everyone = list(await session.scalars(query))
    named = list(await session.scalars(query.where(col(InboxMember.unsolicited).is_(True))))
    return named if inbox.unsolicited == "agent" and named else everyone


async def open_loads(
    session: AsyncSession, inbox_id: int, user_ids: Sequence[int]
) -> dict[int, int]:
    """Open conversations of the inbox assigned to each user."""
    loads = dict.fromkeys(user_ids, 0)
    rows = await session.execute(
        select(func.coalesce(col(Conversation.assignee_id), 0), func.count())
        .where(
            col(Conversation.inbox_id) == inbox_id,
            col(Conversation.status) == "open",
            col(Conversation.assignee_id).in_(list(user_ids)),
        )
        .group_by(col(Conversation.assignee_id))
    )
    for user_id, count in rows:
        loads[int(user_id)] = int(count)
    return loads


def may_assign(inbox: Inbox, online: Collection[int]) -> bool:
    """Whether the inbox's rule can give anyone a conversation now (it is on, someone is online);
    the inbound batch asks before loading the inbox."""
    return inbox.assignment != "off" and bool(online)


async def choose(session: AsyncSession, inbox: Inbox, online: Collection[int]) -> int | None:
    """The member the inbox's rule gives its next conversation, or None (off, nobody online,
    everyone at the cap). Moves round-robin's place."""
    if not may_assign(inbox, online) or inbox.id is None:
        return None
    candidates = await _candidates(session, inbox, online)
    loads = await open_loads(session, inbox.id, candidates)
    cap = inbox.assignment_cap
    free = [u for u in candidates if cap is None or loads[u] < cap]
    if not free:
        return None
    if inbox.assignment == "least_busy":
        return min(free, key=lambda u: (loads[u], u))
    last = inbox.assignment_last_id or 0
    chosen = next((u for u in free if u > last), free[0])
    inbox.assignment_last_id = chosen
    session.add(inbox)
    return chosen


async def assign_arrivals(
    session: AsyncSession, conversations: Sequence[Conversation], online: Collection[int]
) -> dict[int, int]:
    """Give each open, unassigned conversation that just got a text its inbox's assignee (a
    conversation an inbox's bot answers is left to the bot until handed off). Returns the
    assignee of each conversation assigned, by id; `conversations` (views of the rows,
    inbox/inbound.py) are not changed: their events must name the assignee."""
    assigned: dict[int, int] = {}
    for conversation in conversations:
        if conversation.assignee_id is not None or conversation.status != "open":
            continue
        inbox = await session.get(Inbox, conversation.inbox_id)
        if inbox is None or (inbox.unsolicited == "bot" and not conversation.handed_off):
            continue
        chosen = await choose(session, inbox, online)
        if chosen is not None and conversation.id is not None:
            await session.execute(
                update(Conversation)
                .where(col(Conversation.id) == conversation.id)
                .values(assignee_id=chosen)
            )
            assigned[conversation.id] = chosen
    return assigned
