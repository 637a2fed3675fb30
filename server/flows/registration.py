"""The team's carrier registration (A2P 10DLC; DESIGN.md, "Phone numbers"; seeds 000, 002, 004):
submitting the business and campaign once, polling the review (every process polls; a Redis
lock per team makes one check at a time, so two cannot both create a brand, and the advanced
`Registration` each check returns is stored), and what registration opens: the team's inboxes
become visible to their members (the first inbox is hidden until then) and its numbers join the
campaign and may send."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import LockError
from sqlalchemy import delete, select
from sqlmodel import col

from inbox import audit, memberships, numbers, registrations
from inbox.errors import ConflictError, InboxError
from inbox.models import CarrierRegistration, EventRecord, Inbox, PhoneNumber, User
from server.flows import numbers as number_flows
from server.flows.events import append_access_changed, append_inbox_changed
from server.keys import registration_check_key
from server.services import Services

logger = logging.getLogger(__name__)

CHECK_LOCK_SECS = 120.0  # a check that dies holding the lock frees it after this long


async def status(svc: Services, team_id: int) -> dict[str, Any]:
    async with svc.db.read() as session:
        row = await registrations.team_row(session, team_id)
        state = await registrations.team_state(session, team_id)
        live = [n for n in await numbers.team_numbers(session, team_id) if n.released_at is None]
    counts = {
        "registered": sum(1 for n in live if n.registered),
        "unregistered": sum(1 for n in live if not n.registered),
    }
    return registrations.view(row, state, counts)


async def start(svc: Services, actor: User, body: dict[str, Any], base: str) -> dict[str, Any]:
    """Submit the business and campaign (again, after a failure) with the team's numbers."""
    business, campaign = registrations.parse(body)
    team_id = actor.team_id
    async with svc.db.read() as session:
        state = await registrations.team_state(session, team_id)
        sids = [
            n.provider_sid
            for n in await numbers.team_numbers(session, team_id)
            if n.released_at is None and n.provider_sid is not None
        ]
    if state in ("pending", "registered"):
        raise ConflictError(f"the team's registration is {state} already", "already_registered")
    root = (svc.settings.public_url or base).rstrip("/")
    registration = await svc.provider.registration.start(
        business, campaign, inbound_url=f"{root}/webhooks/twilio/messages", number_sids=sids
    )
    async with svc.db.write() as session:
        await session.execute(
            delete(CarrierRegistration).where(col(CarrierRegistration.team_id) == team_id)
        )
        row = registrations.new_row(team_id, business, campaign, registration)
        session.add(row)
        await session.flush()
        await audit.record(
            session, team_id, actor, "registration.started", ("team", team_id),
            None, {"legal_name": business.legal_name, "use_case": campaign.use_case},
        )  # fmt: skip
    return await status(svc, team_id)


async def poll(svc: Services) -> None:
    """Check every pending registration once."""
    async with svc.db.read() as session:
        teams = list(
            await session.scalars(
                select(col(CarrierRegistration.team_id)).where(
                    col(CarrierRegistration.state) == "pending"
                )
            )
        )
    for team_id in teams:
        await check(svc, team_id)


async def check(svc: Services, team_id: int) -> None:
    lock = svc.redis.lock(
        registration_check_key(svc.settings.deployment_name, team_id),
        timeout=CHECK_LOCK_SECS,
        blocking=False,
    )
    if not await lock.acquire():
        return  # another process is checking it now
    try:
        await _check(svc, team_id)
    finally:
        try:
            await lock.release()
        except LockError:
            pass


async def _check(svc: Services, team_id: int) -> None:
    async with svc.db.read() as session:
        row = await registrations.team_row(session, team_id)
    registration = registrations.registration_of(row) if row is not None else None
    if row is None or row.state != "pending" or registration is None:
        return
    found = await svc.provider.registration.check(registration)
    events: list[EventRecord] = []
    async with svc.db.write() as session:
        row = await registrations.team_row(session, team_id)
        if row is None or row.state != "pending":
            return
        moved = registrations.apply_status(row, found, svc.settings.clock())
        session.add(row)
        await session.flush()
        if moved:
            await audit.record(
                session, team_id, None, "registration.changed", ("team", team_id),
                {"state": "pending"}, {"state": found.state, "reason": found.reason},
            )  # fmt: skip
        if found.state == "registered":
            events += await _open_inboxes(session, team_id)
    await svc.announce(*events)
    if found.state == "registered":
        await _register_numbers(svc, team_id)


async def _open_inboxes(session: Any, team_id: int) -> list[EventRecord]:
    """Registered: each inbox of the team may be seen by its members and send."""
    rows = await session.scalars(
        select(Inbox).where(col(Inbox.team_id) == team_id, col(Inbox.registration) != "registered")
    )
    events: list[EventRecord] = []
    opened = list(rows)
    touched: set[int] = set()
    for inbox in opened:
        inbox.registration = "registered"
        session.add(inbox)
        touched |= await memberships.member_ids(session, inbox.id)
    await session.flush()
    events += await append_access_changed(session, team_id, sorted(touched))
    for inbox in opened:
        events += await append_inbox_changed(session, inbox)
    return events


async def _register_numbers(svc: Services, team_id: int) -> None:
    async with svc.db.read() as session:
        waiting: list[int] = list(
            await session.scalars(
                select(col(PhoneNumber.id)).where(
                    col(PhoneNumber.team_id) == team_id,
                    col(PhoneNumber.released_at).is_(None),
                    col(PhoneNumber.registered).is_(False),
                    col(PhoneNumber.provider_sid).is_not(None),
                )
            )
        )
    for number_id in waiting:
        try:
            await number_flows.add_to_campaign(svc, None, team_id, number_id)
        except InboxError as exc:
            logger.warning("number %d stays unregistered: %s", number_id, exc.message)
