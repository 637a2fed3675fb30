"""The phone-number lifecycle (DESIGN.md, "Phone numbers"; seeds 000, 001, 002): search, buy,
label and assign, release, replace an inbox's number, and the sweep that releases idle numbers
after warning the admins. The carrier is called outside the store's transactions; each change
in the store, its `phone_number.updated` / `inbox.updated` events and its audit entry commit
together. A number bought here is never one this store had before (searches are filtered
against it), and carries a unique friendly name, so a buy whose answer was lost is found again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.exceptions import LockError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import audit, campaigns, inboxes, memberships, numbers, registrations
from inbox.errors import (
    ConflictError,
    InboxError,
    NumberUnavailableError,
    SmsError,
    TooSoonError,
)
from inbox.models import EventRecord, Inbox, PhoneNumber, User
from inbox.providers.base import AvailableNumber, NumberWebhooks, OwnedNumber
from server.flows.events import append_inbox_changed, append_phone_numbers_updated
from server.keys import number_sweep_key
from server.services import Services

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 20  # a page of the buy dialog
# A Low Volume Standard brand registers at most this many numbers (seed 000).
NUMBERS_PER_BRAND = 400
# A sweep that dies holding the lock frees it after this long.
SWEEP_LOCK_SECS = 300.0


@dataclass(frozen=True)
class Wanted:
    """What a buy is for: a number, or any in an area code, with its labels and inbox."""

    phone_number: str | None = None
    area_code: str | None = None
    contains: str | None = None
    name: str = ""
    description: str = ""
    inbox_id: int | None = None
    agent_id: int | None = None
    any_us: bool = False  # none in the area code: any US number instead (seed 001)


def number_webhooks(svc: Services, base: str) -> NumberWebhooks:
    """Where the carrier calls us about a number: the public URL, else where requests come."""
    root = (svc.settings.public_url or base).rstrip("/")
    return NumberWebhooks(
        sms_url=f"{root}/webhooks/twilio/messages",
        status_callback=f"{root}/webhooks/twilio/status",
        voice_url=f"{root}/webhooks/twilio/voice",
    )


async def search(
    svc: Services, area_code: str | None, contains: str | None = None
) -> list[AvailableNumber]:
    """Numbers for sale now, less any this store has or had (a released one never comes back)."""
    offered = await svc.provider.numbers.search(area_code, contains=contains, limit=SEARCH_LIMIT)
    async with svc.db.read() as session:
        known = await numbers.known_numbers(session, [o.phone_number for o in offered])
    return [o for o in offered if o.phone_number not in known]


async def _views(svc: Services, session: AsyncSession, rows: Sequence[PhoneNumber]) -> list[Any]:
    return await numbers.number_views(
        session, rows, svc.settings.number_lifetimes, svc.settings.clock()
    )


async def _announce_numbers(
    svc: Services, session: AsyncSession, team_id: int, rows: Sequence[PhoneNumber]
) -> list[EventRecord]:
    return await append_phone_numbers_updated(
        session, team_id, rows, svc.settings.number_lifetimes, svc.settings.clock()
    )


async def _inboxes_changed(session: AsyncSession, changed: Sequence[Inbox]) -> list[EventRecord]:
    events = []
    for inbox in {i.id: i for i in changed}.values():
        events += await append_inbox_changed(session, inbox)
    return events


async def _check_wanted(svc: Services, actor: User, wanted: Wanted) -> None:
    """Refuse a bad inbox or agent, or a number this store had, before anything is bought."""
    async with svc.db.read() as session:
        await numbers.target_inbox(session, actor.team_id, wanted.inbox_id)
        await numbers.check_agent(session, actor.team_id, wanted.agent_id)
        if wanted.phone_number is not None:
            if await numbers.known_numbers(session, [wanted.phone_number]):
                raise ConflictError(
                    f"{wanted.phone_number} was already used here and cannot be bought again",
                    "released",
                )


async def _buy_at_carrier(svc: Services, phone_number: str, base: str) -> OwnedNumber:
    """Buy it; if the answer was lost, find it by the unique friendly name it was bought with."""
    marker = f"switchboard:{uuid.uuid4().hex}"
    webhooks = number_webhooks(svc, base)
    try:
        return await svc.provider.numbers.buy(
            webhooks, phone_number=phone_number, friendly_name=marker
        )
    except SmsError as exc:
        if not exc.maybe_done:
            raise
        found = await svc.provider.numbers.find_owned(friendly_name=marker)
        if found is None:
            raise
        return found


async def _choose(svc: Services, wanted: Wanted, *, any_us: bool = False) -> str:
    if wanted.phone_number is not None:
        return wanted.phone_number
    fresh = await search(svc, wanted.area_code, wanted.contains)
    if not fresh and any_us:
        fresh = await search(svc, None)
    if not fresh:
        where = f"area code {wanted.area_code}" if wanted.area_code else "the US"
        raise NumberUnavailableError(
            f"no number is left in {where}; try another area code", area_code=wanted.area_code
        )
    return fresh[0].phone_number


async def buy(svc: Services, actor: User, wanted: Wanted, base: str) -> dict[str, Any]:
    """Buy a number (that one, or the first for sale in the area code) and record it with its
    labels and inbox; added to the team's campaign at once when the team is registered."""
    await _check_wanted(svc, actor, wanted)
    owned = await _buy_at_carrier(svc, await _choose(svc, wanted, any_us=wanted.any_us), base)
    try:
        row = await _record_bought(svc, actor, owned, wanted)
    except Exception:
        # Not recorded: give it back rather than pay for a number nobody can see.
        await svc.provider.numbers.release(owned.sid)
        raise
    await _register_new(svc, actor.team_id, row)
    async with svc.db.read() as session:
        (view,) = await _views(
            svc, session, [await numbers.team_number(session, actor.team_id, row)]
        )
    return dict(view)


async def _record_bought(svc: Services, actor: User, owned: OwnedNumber, wanted: Wanted) -> int:
    async with svc.db.write() as session:
        row = PhoneNumber(
            team_id=actor.team_id,
            number=owned.phone_number,
            label=numbers.check_name(wanted.name),
            description=numbers.check_description(wanted.description),
            agent_id=await numbers.check_agent(session, actor.team_id, wanted.agent_id),
            provider_sid=owned.sid,
            last_used_at=svc.settings.clock(),
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        inbox = await numbers.target_inbox(session, actor.team_id, wanted.inbox_id)
        changed = await numbers.place(session, row, inbox)
        events = await _inboxes_changed(session, changed)
        events += await _announce_numbers(svc, session, actor.team_id, [row])
        (view,) = await _views(svc, session, [row])
        await audit.record(
            session, actor.team_id, actor, "phone_number.bought", ("phone_number", row.id),
            None, view,
        )  # fmt: skip
    await svc.announce(*events)
    return row.id


async def _register_new(svc: Services, team_id: int, number_id: int) -> None:
    """A number bought by a registered team joins its campaign as it is bought (seed 000)."""
    async with svc.db.read() as session:
        state = await registrations.team_state(session, team_id)
    if state != "registered":
        return
    try:
        await add_to_campaign(svc, None, team_id, number_id)
    except InboxError as exc:
        logger.warning("number %d stays unregistered: %s", number_id, exc.message)


async def add_to_campaign(
    svc: Services, actor: User | None, team_id: int, number_id: int
) -> dict[str, Any]:
    """Put the number in the team's registered campaign's messaging service and tag it
    registered ("+ Register number"); refused past the brand's number limit."""
    async with svc.db.read() as session:
        number = await numbers.team_number(session, team_id, number_id)
        numbers.check_not_released(number)
        row = await registrations.team_row(session, team_id)
        state = await registrations.team_state(session, team_id)
        count = len([n for n in await numbers.team_numbers(session, team_id) if n.registered])
    if state != "registered":
        raise ConflictError("the team is not registered with carriers yet", "not_registered")
    if not number.registered and count >= NUMBERS_PER_BRAND:
        raise ConflictError(
            f"the brand already has {NUMBERS_PER_BRAND} numbers, the most a Low Volume "
            "Standard brand may register",
            "number_pool_full",
        )
    registration = registrations.registration_of(row) if row is not None else None
    if registration is not None and not number.registered:
        if number.provider_sid is None:
            raise ConflictError(f"{number.number} was not bought here", "not_provisioned")
        await svc.provider.registration.add_number(registration, number.provider_sid)
    async with svc.db.write() as session:
        number = await numbers.team_number(session, team_id, number_id)
        events: list[EventRecord] = []
        if not number.registered and number.released_at is None:
            number.registered = True
            session.add(number)
            await session.flush()
            events = await _announce_numbers(svc, session, team_id, [number])
            await audit.record(
                session, team_id, actor, "phone_number.registered", ("phone_number", number_id),
                {"registration": "unregistered"}, {"registration": "registered"},
            )  # fmt: skip
        (view,) = await _views(svc, session, [number])
    await svc.announce(*events)
    return dict(view)


async def update(
    svc: Services, actor: User, number_id: int, given: dict[str, Any]
) -> dict[str, Any]:
    """Label, give to an inbox (`inbox_id` None: to none) or to an agent; a released number
    is never given to an inbox again."""
    async with svc.db.write() as session:
        number = await numbers.team_number(session, actor.team_id, number_id)
        numbers.check_not_released(number)
        (before,) = await _views(svc, session, [number])
        if "name" in given:
            number.label = numbers.check_name(given["name"])
        if "description" in given:
            number.description = numbers.check_description(given["description"])
        if "agent_id" in given:
            number.agent_id = await numbers.check_agent(session, actor.team_id, given["agent_id"])
        if "number_type" in given:
            number.number_type = numbers.check_number_type(given["number_type"])
        session.add(number)
        await session.flush()
        touched = [number]
        changed: list[Inbox] = []
        if "inbox_id" in given:
            inbox = await numbers.target_inbox(session, actor.team_id, given["inbox_id"])
            displaced = await inboxes.number_of(session, inbox.id) if inbox and inbox.id else None
            changed = await numbers.place(session, number, inbox)
            if displaced is not None and displaced.id != number.id:
                await session.refresh(displaced)
                touched.append(displaced)
        (after,) = await _views(svc, session, [number])
        was, now = audit.diff(before, after)
        events: list[EventRecord] = []
        if now:
            events += await _inboxes_changed(session, changed)
            events += await _announce_numbers(svc, session, actor.team_id, touched)
            await audit.record(
                session, actor.team_id, actor, "phone_number.updated", ("phone_number", number_id),
                was, now,
            )  # fmt: skip
    await svc.announce(*events)
    return dict(after)


async def release(
    svc: Services, actor: User | None, team_id: int, number_id: int
) -> dict[str, Any]:
    """Give the number back to the carrier; the row stays, released, its inbox without it."""
    async with svc.db.read() as session:
        number = await numbers.team_number(session, team_id, number_id)
        numbers.check_not_released(number)
        await _check_not_in_campaign(svc, session, number)
    if number.provider_sid is not None:
        await svc.provider.numbers.release(number.provider_sid)
    return await _mark_released(svc, actor, team_id, number_id, "released")


async def _check_not_in_campaign(svc: Services, session: AsyncSession, number: PhoneNumber) -> None:
    """Seed 002: a number a campaign uses (now, or scheduled) is not released or replaced."""
    assert number.id is not None
    using = await campaigns.using_numbers(session, [number.id], svc.settings.clock())
    if number.id in using:
        raise ConflictError(
            f"{number.number} is in campaign {using[number.id].name!r}: archive it first",
            "in_campaign",
        )


async def _mark_released(
    svc: Services, actor: User | None, team_id: int, number_id: int, reason: str
) -> dict[str, Any]:
    async with svc.db.write() as session:
        number = await numbers.team_number(session, team_id, number_id)
        events: list[EventRecord] = []
        if number.released_at is None:
            changed = await numbers.mark_released(session, number, reason, svc.settings.clock())
            events += await _inboxes_changed(session, changed)
            events += await _announce_numbers(svc, session, team_id, [number])
            await audit.record(
                session, team_id, actor, "phone_number.released", ("phone_number", number_id),
                {"released": False}, {"released": True, "reason": reason},
            )  # fmt: skip
        (view,) = await _views(svc, session, [number])
    await svc.announce(*events)
    return dict(view)


async def replace(
    svc: Services, actor: User, inbox_id: int, area_code: str | None, base: str
) -> dict[str, Any]:
    """Seed 001: a new number (in `area_code`, else any US number) replaces the inbox's, which
    is released; at most once per REPLACE_EVERY_DAYS. Its conversations carry on from the new
    number. Returns the new number's row."""
    now = svc.settings.clock()
    every = timedelta(days=numbers.REPLACE_EVERY_DAYS)
    async with svc.db.read() as session:
        inbox = await memberships.team_inbox(session, actor.team_id, inbox_id)
        inboxes.check_not_archived(inbox)
        old = await inboxes.number_of(session, inbox_id)
        if old is None:
            raise ConflictError(f"{inbox.name} has no number to replace", "no_number")
        await _check_not_in_campaign(svc, session, old)
        if inbox.number_replaced_at is not None and now < inbox.number_replaced_at + every:
            wait = inbox.number_replaced_at + every - now
            raise TooSoonError(
                f"{inbox.name} replaced its number on {inbox.number_replaced_at:%Y-%m-%d}; "
                f"a number can be replaced once every {numbers.REPLACE_EVERY_DAYS:g} days",
                wait.total_seconds(),
            )
    chosen = await _choose(svc, Wanted(area_code=area_code), any_us=True)
    owned = await _buy_at_carrier(svc, chosen, base)
    try:
        new_id = await _record_replacement(svc, actor, inbox_id, old.id or 0, owned)
    except Exception:
        await svc.provider.numbers.release(owned.sid)
        raise
    if old.provider_sid is not None:
        try:
            await svc.provider.numbers.release(old.provider_sid)
        except SmsError:
            logger.exception("could not release replaced number %d at the carrier", old.id)
    await _register_new(svc, actor.team_id, new_id)
    async with svc.db.read() as session:
        (view,) = await _views(
            svc, session, [await numbers.team_number(session, actor.team_id, new_id)]
        )
    return dict(view)


async def _record_replacement(
    svc: Services, actor: User, inbox_id: int, old_id: int, owned: OwnedNumber
) -> int:
    now = svc.settings.clock()
    async with svc.db.write() as session:
        inbox = await memberships.team_inbox(session, actor.team_id, inbox_id)
        old = await numbers.team_number(session, actor.team_id, old_id)
        if old.inbox_id != inbox_id or old.released_at is not None:
            raise ConflictError(f"{inbox.name}'s number changed meanwhile", "conflict")
        old_view = await _views(svc, session, [old])
        new = PhoneNumber(
            team_id=actor.team_id,
            number=owned.phone_number,
            label=old.label,
            description=old.description,
            agent_id=old.agent_id,
            number_type=old.number_type,
            provider_sid=owned.sid,
            last_used_at=now,
        )
        session.add(new)
        await session.flush()
        assert new.id is not None
        await numbers.mark_released(session, old, "replaced", now)
        await numbers.place(session, new, inbox)
        inbox.number_replaced_at = now
        session.add(inbox)
        await session.flush()
        events = await _inboxes_changed(session, [inbox])
        events += await _announce_numbers(svc, session, actor.team_id, [old, new])
        await audit.record(
            session, actor.team_id, actor, "inbox.number_replaced", ("inbox", inbox_id),
            {"phone_number": old_view[0]["phone_number"]}, {"phone_number": new.number},
        )  # fmt: skip
    await svc.announce(*events)
    return new.id


# -- the idle sweep ---------------------------------------------------------------------------


def sweep_every_secs(svc: Services) -> float:
    """About a twentieth of the shortest lifetime: a day's tiny test setting sweeps often, six
    months' hourly."""
    s = svc.settings
    shortest = min(s.number_idle_release_days, s.unassigned_release_days)
    shortest = min(shortest, s.number_release_warning_days or shortest)
    return min(3600.0, max(0.2, shortest * 86400 / 20))


async def sweep_idle(svc: Services) -> None:
    """Warn the admins once about each number entering its warning period, and release each
    idle number whose time is up (one process at a time: a Redis lock)."""
    lock = svc.redis.lock(
        number_sweep_key(svc.settings.deployment_name), timeout=SWEEP_LOCK_SECS, blocking=False
    )
    if not await lock.acquire():
        return
    try:
        await _sweep(svc)
    finally:
        try:
            await lock.release()
        except LockError:
            pass  # it outlived its timeout; whoever holds it now sweeps again harmlessly


async def _sweep(svc: Services) -> None:
    lifetimes, now = svc.settings.number_lifetimes, svc.settings.clock()
    async with svc.db.read() as session:
        live = list(
            await session.scalars(select(PhoneNumber).where(col(PhoneNumber.released_at).is_(None)))
        )
        due = [n for n in live if (lifetimes.expires_at(n) or now) <= now]
        # A number a campaign is scheduled to use is kept however idle it looks.
        using = await campaigns.using_numbers(session, [n.id for n in due if n.id], now)
    due = [n for n in due if n.id not in using]
    for number in due:
        assert number.id is not None
        if number.provider_sid is not None:
            await svc.provider.numbers.release(number.provider_sid)
        await _mark_released(svc, None, number.team_id, number.id, "idle")
        logger.info("released phone number %d: idle", number.id)
    warn = [n.id for n in live if n not in due and lifetimes.expiring(n, now) and not n.warned_at]
    if not warn:
        return
    async with svc.db.write() as session:
        rows = await session.scalars(select(PhoneNumber).where(col(PhoneNumber.id).in_(warn)))
        events: list[EventRecord] = []
        for number in rows:
            if number.warned_at is None and lifetimes.expiring(number, now):
                number.warned_at = now
                session.add(number)
                await session.flush()
                events += await _announce_numbers(svc, session, number.team_id, [number])
    await svc.announce(*events)
