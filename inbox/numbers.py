"""The team's phone numbers in the store (DESIGN.md, "Phone numbers"; seed 002's numbers table):
labels, the responsible agent, being used (`mark_used`, on every text in and out), when an idle
number is released and warned about (`Lifetimes`), the table's rows, and marking one released
(the row stays: a released number is never bought or given to an inbox here again). Functions
run in the caller's transaction; buying and releasing at the carrier are server/flows/numbers.py's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import campaigns, inboxes
from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.models import NUMBER_TYPES, Inbox, PhoneNumber, User
from inbox.views import iso

MAX_NAME_CHARS = 80  # a table cell
MAX_DESCRIPTION_CHARS = 500
# Seed 001: an inbox may change its number by area code at most once a month.
REPLACE_EVERY_DAYS = 30.0
# The table's columns, in order: the CSV header and the `sort` values.
COLUMNS = (
    *("phone_number", "name", "description", "agent", "inbox", "type", "active_campaign"),
    *("campaign_archived_at", "number_type", "registration", "last_used_at", "expires_at"),
)


@dataclass(frozen=True)
class Lifetimes:
    """How long a number may sit idle (no text in or out) before it is released, in days, and
    how long before that admins are warned (DESIGN.md, "Configuration")."""

    idle_days: float  # with an inbox
    unassigned_days: float  # with none
    warning_days: float

    def expires_at(self, number: PhoneNumber) -> datetime | None:
        if number.released_at is not None:
            return None
        days = self.idle_days if number.inbox_id is not None else self.unassigned_days
        return idle_since(number) + timedelta(days=days)

    def expiring(self, number: PhoneNumber, now: datetime) -> bool:
        """Inside the warning period: the table and the inbox header say "expires on DATE"."""
        expires = self.expires_at(number)
        return expires is not None and now >= expires - timedelta(days=self.warning_days)


def idle_since(number: PhoneNumber) -> datetime:
    return number.last_used_at or number.created_at


_PHONE_NUMBER = PhoneNumber.metadata.tables["phonenumber"]
# Built once: the inbound batch runs it for every batch.
_MARK_USED = (
    update(_PHONE_NUMBER)
    .where(_PHONE_NUMBER.c.number == bindparam("used"), _PHONE_NUMBER.c.released_at.is_(None))
    .values(last_used_at=bindparam("at"), warned_at=None)
)


async def mark_used(session: AsyncSession, number: str | None, now: datetime) -> None:
    """A text went in or out on `number` (E.164): its idle time starts again."""
    if number is not None:
        await mark_all_used(session, {number: now})


async def mark_all_used(session: AsyncSession, used: Mapping[str, datetime]) -> None:
    """`mark_used` for each number and its time, in one statement."""
    if used:
        rows = [{"used": number, "at": at} for number, at in used.items()]
        await session.execute(_MARK_USED, rows)


async def team_number(session: AsyncSession, team_id: int, number_id: int) -> PhoneNumber:
    number = await session.get(PhoneNumber, number_id)
    if number is None or number.team_id != team_id:
        raise NotFoundError(f"no phone number {number_id} in this team")
    return number


def check_not_released(number: PhoneNumber) -> None:
    if number.released_at is not None:
        raise ConflictError(f"{number.number} was released and cannot be used again", "released")


async def known_numbers(session: AsyncSession, numbers: Sequence[str]) -> set[str]:
    """Which of `numbers` any team has or had here (a released one is never bought again)."""
    if not numbers:
        return set()
    rows = await session.scalars(
        select(col(PhoneNumber.number)).where(col(PhoneNumber.number).in_(numbers))
    )
    return set(rows)


def check_name(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > MAX_NAME_CHARS:
        raise InvalidInputError(f"name is at most {MAX_NAME_CHARS} characters")
    return value.strip()


def check_description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_CHARS:
        raise InvalidInputError(f"description is at most {MAX_DESCRIPTION_CHARS} characters")
    return value.strip()


def check_number_type(value: Any) -> str:
    if value not in NUMBER_TYPES:
        raise InvalidInputError(f"number_type is one of {', '.join(NUMBER_TYPES)}")
    return str(value)


async def check_agent(session: AsyncSession, team_id: int, agent_id: Any) -> int | None:
    """A person of the team (not a bot, not disabled) responsible for the number, or None."""
    if agent_id is None:
        return None
    agent = await session.get(User, agent_id) if isinstance(agent_id, int) else None
    if agent is None or agent.team_id != team_id or agent.role == "bot":
        raise InvalidInputError("agent_id must name a person of this team", "invalid_agent")
    if agent.disabled_at is not None:
        raise InvalidInputError(f"{agent.name} is disabled", "disabled")
    return agent.id


async def target_inbox(session: AsyncSession, team_id: int, inbox_id: Any) -> Inbox | None:
    """The inbox a number is to be given (None: none): the team's, not archived, not the
    Mailroom."""
    if inbox_id is None:
        return None
    inbox = await session.get(Inbox, inbox_id) if isinstance(inbox_id, int) else None
    if inbox is None or inbox.team_id != team_id:
        raise NotFoundError(f"no inbox {inbox_id}")
    inboxes.check_not_archived(inbox)
    if inbox.mailroom:
        raise InvalidInputError("the Mailroom takes texts to numbers no inbox has; it has none")
    return inbox


async def place(session: AsyncSession, number: PhoneNumber, inbox: Inbox | None) -> list[Inbox]:
    """Give `number` to `inbox` (None: to none); return the inboxes whose number changed."""
    current = await session.get(Inbox, number.inbox_id) if number.inbox_id is not None else None
    if current is inbox:
        return []
    changed = []
    if current is not None:
        await inboxes.assign_number(session, current, None)
        changed.append(current)
    if inbox is not None:
        await inboxes.assign_number(session, inbox, number.id)
        changed.append(inbox)
    await session.refresh(number)
    return changed


async def mark_released(
    session: AsyncSession, number: PhoneNumber, reason: str, now: datetime
) -> list[Inbox]:
    """The carrier has it back: the row stays, marked; its inbox has no number any more."""
    changed = await place(session, number, None)
    number.released_at = now
    number.release_reason = reason
    number.registered = False
    session.add(number)
    await session.flush()
    return changed


async def team_numbers(session: AsyncSession, team_id: int) -> list[PhoneNumber]:
    rows = await session.scalars(
        select(PhoneNumber)
        .where(col(PhoneNumber.team_id) == team_id)
        .order_by(col(PhoneNumber.number))
    )
    return list(rows)


async def number_views(
    session: AsyncSession, numbers: Sequence[PhoneNumber], lifetimes: Lifetimes, now: datetime
) -> list[dict[str, Any]]:
    """Rows of the numbers table: each number with its agent, inbox, the inbox's handling
    (bot or agent), active campaign, registration, last use and expiry."""
    inbox_ids = {n.inbox_id for n in numbers if n.inbox_id is not None}
    agent_ids = {n.agent_id for n in numbers if n.agent_id is not None}
    by_inbox = {
        i.id: i for i in await session.scalars(select(Inbox).where(col(Inbox.id).in_(inbox_ids)))
    }
    by_agent = {
        u.id: u for u in await session.scalars(select(User).where(col(User.id).in_(agent_ids)))
    }
    active = await campaigns.active_by_number(session, [n.number for n in numbers], now)
    views = []
    for n in numbers:
        inbox = by_inbox.get(n.inbox_id)
        campaign = active.get(n.number)
        agent = by_agent.get(n.agent_id)
        views.append(
            {
                "id": n.id,
                "phone_number": n.number,
                "name": n.label,
                "description": n.description,
                "agent": {"id": agent.id, "name": agent.name} if agent else None,
                "agent_id": n.agent_id,
                "inbox": {"id": inbox.id, "name": inbox.name} if inbox else None,
                "inbox_id": n.inbox_id,
                "type": inbox.unsolicited if inbox else None,
                # The campaign that uses the number now (its handling overrides the inbox's,
                # seed 002), and its archive date: when the inbox's handling applies again.
                "active_campaign": {"id": campaign.id, "name": campaign.name} if campaign else None,
                "campaign_archived_at": iso(campaign.archive_at) if campaign else None,
                "number_type": n.number_type,
                "registration": "registered" if n.registered else "unregistered",
                "last_used_at": iso(n.last_used_at),
                "expires_at": iso(lifetimes.expires_at(n)),
                "expiring": lifetimes.expiring(n, now),
                "released": n.released_at is not None,
                "released_at": iso(n.released_at),
                "release_reason": n.release_reason,
                "created_at": iso(n.created_at),
            }
        )
    return views


def csv_cell(view: dict[str, Any], column: str) -> str:
    """What the table (and its CSV) shows in `column` for a row."""
    value = view[column]
    if isinstance(value, dict):
        return str(value["name"])
    return "" if value is None else str(value)
