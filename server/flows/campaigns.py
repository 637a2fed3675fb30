"""An admin's campaigns (seed 002; docs/decisions.md, "Campaigns and the allowance"): making,
changing and archiving one, each with its `campaign.updated` event (and the numbers table's
rows it changes) and audit entry in one transaction; and sending the due ones, from every
process's scheduler (flows/background.py): the claim and all of the campaign's texts (the bulk
path: one text per recipient, opt-outs skipped, the allowance counted) commit together, so a
campaign is sent exactly once whichever processes race for it, or die mid-send."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import audit, bulk, campaigns, outbound
from inbox.errors import ConflictError, ForbiddenError
from inbox.models import Campaign, EventRecord, Inbox, PhoneNumber, User
from presence.errors import PresenceError
from server.flows.bulk import skip_held, store_batch
from server.flows.events import append_campaigns_updated, append_phone_numbers_updated
from server.services import Services

logger = logging.getLogger(__name__)

# How often each process looks for due campaigns: one is sent at most this late.
CAMPAIGN_SWEEP_SECS = 1.0


async def _events(
    svc: Services, session: AsyncSession, campaign: Campaign, number_ids: list[int]
) -> list[EventRecord]:
    now = svc.settings.clock()
    events = await append_campaigns_updated(session, campaign.team_id, [campaign], now)
    rows = list(
        await session.scalars(select(PhoneNumber).where(col(PhoneNumber.id).in_(number_ids)))
    )
    events += await append_phone_numbers_updated(
        session, campaign.team_id, rows, svc.settings.number_lifetimes, now
    )
    return events


async def _view(svc: Services, session: AsyncSession, campaign: Campaign) -> dict[str, Any]:
    (view,) = await campaigns.campaign_views(session, [campaign], svc.settings.clock())
    return view


async def _current(svc: Services, campaign_id: int, view: dict[str, Any]) -> dict[str, Any]:
    """The campaign as it is now (sent meanwhile, when it was due), else `view`."""
    if view["status"] != "scheduled":
        return view
    async with svc.db.read() as session:
        campaign = await session.get(Campaign, campaign_id)
        return view if campaign is None else await _view(svc, session, campaign)


async def create(svc: Services, actor: User, given: dict[str, Any]) -> dict[str, Any]:
    assert actor.id is not None
    async with svc.db.write() as session:
        now = svc.settings.clock()
        columns, numbers = await campaigns.check(session, actor.team_id, given, now)
        inbox = await session.get(Inbox, columns["inbox_id"])
        assert inbox is not None
        await outbound.check_can_send(session, inbox)  # refused now, not when it is due
        campaign = Campaign(team_id=actor.team_id, created_by=actor.id, **columns)
        await campaigns.save(session, campaign, columns, numbers)
        number_ids = [n.id for n in numbers if n.id is not None]
        await audit.record(
            session, actor.team_id, actor, "campaign.created", ("campaign", campaign.id),
            None, {"name": campaign.name, "status": campaign.status},
        )  # fmt: skip
        events = await _events(svc, session, campaign, number_ids)
        view = await _view(svc, session, campaign)
    await svc.announce(*events)
    await _send_due_now(svc)  # "send now" goes at once, by the same claim as a scheduled one
    return await _current(svc, campaign.id or 0, view)


async def update(
    svc: Services, actor: User, campaign_id: int, given: dict[str, Any]
) -> dict[str, Any]:
    """Change a draft or scheduled campaign (`send_at: null` takes it back to draft); an active
    one may only be renamed or given another archive date."""
    async with svc.db.write() as session:
        now = svc.settings.clock()
        campaign = await campaigns.get_campaign(session, actor.team_id, campaign_id)
        state = campaigns.state_of(campaign, now)
        old_ids = (await campaigns.number_ids_of(session, [campaign_id])).get(campaign_id, [])
        if state == "archived" or (state == "active" and given.keys() - {"name", "archive_at"}):
            raise ConflictError(
                f"campaign {campaign.name!r} is {state}: it can no longer be changed that way",
                "campaign_sent",
            )
        fields = campaigns.fields_of(campaign, old_ids) | given
        if state == "active":
            fields["send_at"] = "now"  # checked against now: the archive date is still ahead
        columns, numbers = await campaigns.check(session, actor.team_id, fields, now)
        if state == "active":
            columns = {k: columns[k] for k in ("name", "archive_at")}
        before = {"name": campaign.name, "status": campaign.status}
        await campaigns.save(session, campaign, columns, numbers)
        await audit.record(
            session, actor.team_id, actor, "campaign.updated", ("campaign", campaign.id),
            *audit.diff(before, {"name": campaign.name, "status": campaign.status}),
        )  # fmt: skip
        number_ids = sorted({*old_ids, *(n.id for n in numbers if n.id is not None)})
        events = await _events(svc, session, campaign, number_ids)
        view = await _view(svc, session, campaign)
    await svc.announce(*events)
    await _send_due_now(svc)
    return await _current(svc, campaign_id, view)


async def archive(svc: Services, actor: User, campaign_id: int) -> dict[str, Any]:
    """End it now (a draft or scheduled one is never sent): its numbers' own handling applies
    to replies again."""
    async with svc.db.write() as session:
        now = svc.settings.clock()
        campaign = await campaigns.get_campaign(session, actor.team_id, campaign_id)
        if campaign.status != "archived":
            before = campaigns.state_of(campaign, now)
            campaign.status, campaign.archived_at = "archived", now
            session.add(campaign)
            await session.flush()
            await audit.record(
                session, actor.team_id, actor, "campaign.archived", ("campaign", campaign.id),
                {"status": before}, {"status": "archived"},
            )  # fmt: skip
        number_ids = (await campaigns.number_ids_of(session, [campaign_id])).get(campaign_id, [])
        events = await _events(svc, session, campaign, number_ids)
        view = await _view(svc, session, campaign)
    await svc.announce(*events)
    return view


async def _send_due_now(svc: Services) -> None:
    """After a change: send what is due now. The change is stored whatever happens here; with
    Redis away (the held conversations cannot be read) the scheduler sends it once it is back."""
    try:
        await send_due(svc)
    except PresenceError as exc:
        logger.warning("due campaigns not sent yet: %s", exc)


async def send_due(svc: Services) -> None:
    """Send every campaign whose time has come (the scheduler's step, and "send now")."""
    async with svc.db.read() as session:
        due = await campaigns.due_ids(session, svc.settings.clock())
    for campaign_id in due:
        await _send(svc, campaign_id)


async def _send(svc: Services, campaign_id: int) -> None:
    async with svc.db.write() as session:
        now = svc.settings.clock()
        campaign = await campaigns.claim(session, campaign_id, now)
        if campaign is None:
            return  # another process sent it, or it was archived or moved meanwhile
        events = await _store_texts(svc, session, campaign, now)
    await svc.announce(*events)
    svc.owed.set()
    logger.info("campaign %d sent: %d queued, %d skipped", campaign_id, *_counts(campaign))


def _counts(campaign: Campaign) -> tuple[int, int]:
    return campaign.queued, campaign.skipped


async def _store_texts(
    svc: Services, session: AsyncSession, campaign: Campaign, now: datetime
) -> list[EventRecord]:
    """The bulk path, inside the claim's transaction: every text queued, or none."""
    inbox = await session.get(Inbox, campaign.inbox_id)
    sender = await session.get(User, campaign.created_by)
    assert inbox is not None and sender is not None
    wanted = campaigns.recipients_of(campaign)
    recipients = await bulk.resolve_recipients(
        session, campaign.team_id, wanted["contact_ids"], wanted["numbers"]
    )
    try:
        await skip_held(svc, session, inbox, sender, recipients)
        results, events = await store_batch(
            session, inbox, sender, campaign.body, recipients, svc.settings.public_url or ""
        )
    except (ConflictError, ForbiddenError) as exc:  # the inbox cannot send now: none are sent
        logger.warning("campaign %d not sent: %s", campaign.id, exc.message)
        results, events = [{"status": "skipped"} for _ in recipients], []
    campaign.queued = sum(1 for r in results if r["status"] == "queued")
    campaign.skipped = len(results) - campaign.queued
    session.add(campaign)
    await session.flush()
    number_ids = (await campaigns.number_ids_of(session, [campaign.id or 0])).get(
        campaign.id or 0, []
    )
    return events + await _events(svc, session, campaign, number_ids)
