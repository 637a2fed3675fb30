"""Campaigns (seed 002; docs/decisions.md, "Campaigns and the allowance"): a bulk text an admin
schedules from an office's (inbox's) numbers, and, while it is active, who answers the replies
to those numbers. States: draft → scheduled → active (sent, until `archive_at`) → archived; a
campaign past its archive date counts as archived wherever it is read. Sending is the bulk path
(server/flows/campaigns.py); the claim below makes it happen once, whichever process is first."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import bulk
from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.messages import validate_body
from inbox.models import (
    UNSOLICITED_MODES,
    Campaign,
    CampaignNumber,
    Inbox,
    PhoneNumber,
    User,
)
from inbox.views import iso

MAX_NAME_CHARS = 100
# States whose numbers are taken: a number is in at most one of these campaigns at a time.
LIVE_STATES = ("scheduled", "active")
EDITABLE = frozenset(
    ("name", "inbox_id", "number_ids", "body", "contact_ids", "numbers", "send_at")
    + ("archive_at", "handling", "reply_inbox_id")
)


def state_of(campaign: Campaign, now: datetime) -> str:
    """Its state as users see it: an active campaign past its archive date is archived."""
    if campaign.status == "active" and campaign.archive_at <= now:
        return "archived"
    return campaign.status


def _moment(raw: Any, field: str) -> datetime:
    if not isinstance(raw, str):
        raise InvalidInputError(f"{field} is an ISO-8601 date and time with its offset")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(f"{field} is an ISO-8601 date and time with its offset") from exc
    if moment.tzinfo is None:
        raise InvalidInputError(f"{field} needs its UTC offset (say 2026-12-01T09:00:00Z)")
    return moment.astimezone(UTC)


async def _team_inbox(session: AsyncSession, team_id: int, inbox_id: Any, field: str) -> Inbox:
    if not isinstance(inbox_id, int) or isinstance(inbox_id, bool):
        raise InvalidInputError(f"{field} is an inbox id")
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.team_id != team_id:
        raise InvalidInputError(f"{field}: no such inbox", "invalid_inbox")
    if inbox.archived_at is not None:
        raise InvalidInputError(f"{field}: {inbox.name} is archived", "invalid_inbox")
    return inbox


async def _numbers(session: AsyncSession, inbox: Inbox, raw: Any) -> list[PhoneNumber]:
    """The numbers it uses: the campaign's inbox's own, not released (seed 002: "only reusable
    phone numbers associated with the office for the campaign")."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("number_ids lists the phone numbers it uses (at least one)")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        raise InvalidInputError("number_ids are phone number ids")
    rows = {
        n.id: n
        for n in await session.scalars(select(PhoneNumber).where(col(PhoneNumber.id).in_(raw)))
    }
    found = []
    for number_id in dict.fromkeys(raw):
        number = rows.get(number_id)
        if number is None or number.inbox_id != inbox.id or number.released_at is not None:
            raise InvalidInputError(
                f"phone number {number_id} is not a number of {inbox.name}", "number_not_in_inbox"
            )
        found.append(number)
    return found


async def check(
    session: AsyncSession, team_id: int, given: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[PhoneNumber]]:
    """The campaign's columns from a whole set of fields (a POST, or a PATCH merged onto the
    campaign), and its numbers; InvalidInputError names the field that is wrong."""
    name = given.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidInputError(f"name is 1 to {MAX_NAME_CHARS} characters")
    inbox = await _team_inbox(session, team_id, given.get("inbox_id"), "inbox_id")
    numbers = await _numbers(session, inbox, given.get("number_ids"))
    body = validate_body(given.get("body"))
    # The shape is checked now (lists, not empty, not too many); who they are, at send time.
    await bulk.resolve_recipients(session, team_id, given.get("contact_ids"), given.get("numbers"))
    raw_send = given.get("send_at")
    send_at = (
        None if raw_send is None else now if raw_send == "now" else _moment(raw_send, "send_at")
    )
    if send_at is not None and send_at < now and raw_send != "now":
        raise InvalidInputError('send_at is in the past: give a later time, or "now"')
    archive_at = _moment(given.get("archive_at"), "archive_at")
    if archive_at <= (send_at or now):
        raise InvalidInputError("archive_at comes after the campaign is sent")
    handling = given.get("handling", "agent")
    if handling not in UNSOLICITED_MODES:
        raise InvalidInputError(f"handling is one of {', '.join(UNSOLICITED_MODES)}")
    reply_inbox = await _team_inbox(
        session, team_id, given.get("reply_inbox_id", inbox.id), "reply_inbox_id"
    )
    if handling == "bot" and reply_inbox.unsolicited != "bot":
        raise InvalidInputError(
            f"{reply_inbox.name} is not answered by a bot: choose an inbox set to bot",
            "not_bot_inbox",
        )
    recipients = {
        "contact_ids": given.get("contact_ids") or [],
        "numbers": given.get("numbers") or [],
    }
    columns = {
        "name": name.strip(),
        "inbox_id": inbox.id,
        "body": body,
        "recipients": json.dumps(recipients),
        "status": "draft" if send_at is None else "scheduled",
        "send_at": send_at,
        "archive_at": archive_at,
        "handling": handling,
        "reply_inbox_id": reply_inbox.id,
    }
    return columns, numbers


def fields_of(campaign: Campaign, number_ids: list[int]) -> dict[str, Any]:
    """The campaign as the fields a POST gives, for a PATCH to change some of."""
    recipients = json.loads(campaign.recipients)
    return {
        "name": campaign.name,
        "inbox_id": campaign.inbox_id,
        "number_ids": number_ids,
        "body": campaign.body,
        "contact_ids": recipients["contact_ids"],
        "numbers": recipients["numbers"],
        "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
        "archive_at": campaign.archive_at.isoformat(),
        "handling": campaign.handling,
        "reply_inbox_id": campaign.reply_inbox_id,
    }


async def check_numbers_free(
    session: AsyncSession, campaign: Campaign, numbers: Sequence[PhoneNumber]
) -> None:
    """One live campaign per number at a time: another scheduled or active campaign whose time
    (send to archive date) meets this one's is refused 409 `number_in_campaign`."""
    if campaign.status not in LIVE_STATES or campaign.send_at is None:
        return
    rows = await session.execute(
        select(Campaign, col(PhoneNumber.number))
        .join(CampaignNumber, col(CampaignNumber.campaign_id) == col(Campaign.id))
        .join(PhoneNumber, col(PhoneNumber.id) == col(CampaignNumber.phone_number_id))
        .where(
            col(CampaignNumber.phone_number_id).in_([n.id for n in numbers]),
            col(Campaign.id) != (campaign.id or 0),
            col(Campaign.status).in_(LIVE_STATES),
            col(Campaign.send_at) < campaign.archive_at,
            col(Campaign.archive_at) > campaign.send_at,
        )
    )
    for other, number in rows:
        raise ConflictError(
            f"{number} is in campaign {other.name!r} at that time", "number_in_campaign"
        )


async def save(
    session: AsyncSession,
    campaign: Campaign,
    columns: dict[str, Any],
    numbers: Sequence[PhoneNumber],
) -> Campaign:
    for key, value in columns.items():
        setattr(campaign, key, value)
    session.add(campaign)
    await session.flush()
    await check_numbers_free(session, campaign, numbers)
    assert campaign.id is not None
    old = await session.scalars(
        select(CampaignNumber).where(col(CampaignNumber.campaign_id) == campaign.id)
    )
    for row in old:
        await session.delete(row)
    await session.flush()
    session.add_all(
        CampaignNumber(campaign_id=campaign.id, phone_number_id=n.id)
        for n in numbers
        if n.id is not None
    )
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, team_id: int, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.team_id != team_id:
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


async def number_ids_of(
    session: AsyncSession, campaign_ids: Collection[int]
) -> dict[int, list[int]]:
    rows = await session.execute(
        select(col(CampaignNumber.campaign_id), col(CampaignNumber.phone_number_id))
        .where(col(CampaignNumber.campaign_id).in_(campaign_ids))
        .order_by(col(CampaignNumber.phone_number_id))
    )
    found: dict[int, list[int]] = {}
    for campaign_id, number_id in rows:
        found.setdefault(campaign_id, []).append(number_id)
    return found


async def team_campaigns(session: AsyncSession, team_id: int) -> list[Campaign]:
    rows = await session.scalars(
        select(Campaign)
        .where(col(Campaign.team_id) == team_id)
        .order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
    )
    return list(rows)


async def scheduled_for_number(session: AsyncSession, number_id: int) -> list[Campaign]:
    """The "schedule send" list: a number's campaigns still to be sent, soonest first."""
    rows = await session.scalars(
        select(Campaign)
        .join(CampaignNumber, col(CampaignNumber.campaign_id) == col(Campaign.id))
        .where(
            col(CampaignNumber.phone_number_id) == number_id, col(Campaign.status) == "scheduled"
        )
        .order_by(col(Campaign.send_at), col(Campaign.id))
    )
    return list(rows)


async def using_numbers(
    session: AsyncSession, number_ids: Collection[int], now: datetime
) -> dict[int, Campaign]:
    """The campaign each number is in now or is scheduled for (what keeps it from being
    released): the active one first, else the soonest scheduled."""
    if not number_ids:
        return {}
    rows = await session.execute(
        select(col(CampaignNumber.phone_number_id), Campaign)
        .join(Campaign, col(Campaign.id) == col(CampaignNumber.campaign_id))
        .where(
            col(CampaignNumber.phone_number_id).in_(number_ids),
            col(Campaign.status).in_(LIVE_STATES),
            col(Campaign.archive_at) > now,
        )
        .order_by(col(Campaign.status), col(Campaign.send_at))  # "active" sorts first
    )
    found: dict[int, Campaign] = {}
    for number_id, campaign in rows:
        found.setdefault(number_id, campaign)
    return found


def _active_on_numbers(*columns: Any) -> Any:
    """`columns` of each active campaign using one of the numbers bound as `numbers` at `now`,
    with the number first, the campaign sent last first. Built once: the inbound path asks for
    reply routes in every batch, and almost always hears nothing."""
    return (
        select(col(PhoneNumber.number), *columns)
        .join(CampaignNumber, col(CampaignNumber.phone_number_id) == col(PhoneNumber.id))
        .join(Campaign, col(Campaign.id) == col(CampaignNumber.campaign_id))
        .where(
            col(PhoneNumber.number).in_(bindparam("numbers", expanding=True)),
            col(Campaign.status) == "active",
            col(Campaign.archive_at) > bindparam("now"),
        )
        .order_by(col(Campaign.sent_at).desc())
    )


_ACTIVE_CAMPAIGNS = _active_on_numbers(Campaign)
_ACTIVE_ROUTES = _active_on_numbers(col(Campaign.reply_inbox_id), col(Campaign.handling))


async def active_by_number(
    session: AsyncSession, numbers: Collection[str], now: datetime
) -> dict[str, Campaign]:
    """The active campaign of each E.164 number that has one."""
    if not numbers:
        return {}
    rows = await session.execute(_ACTIVE_CAMPAIGNS, {"numbers": list(numbers), "now": now})
    found: dict[str, Campaign] = {}
    for number, campaign in rows:
        found.setdefault(number, campaign)
    return found


async def reply_routes(
    session: AsyncSession, numbers: Collection[str], now: datetime
) -> dict[str, Inbox]:
    """Seed 002's override, for the inbound path: each number with an active campaign, and the
    inbox its texts go to instead of the number's own, carrying the campaign's handling
    (`unsolicited`). Numbers without one are not in the answer: their own rules apply."""
    if not numbers:
        return {}
    active: dict[str, tuple[int, str]] = {}  # number -> its campaign's reply inbox and handling
    for number, reply_inbox_id, handling in await session.execute(
        _ACTIVE_ROUTES, {"numbers": list(numbers), "now": now}
    ):
        active.setdefault(number, (reply_inbox_id, handling))
    if not active:
        return {}
    targets = {
        i.id: i
        for i in await session.scalars(
            select(Inbox).where(col(Inbox.id).in_({inbox_id for inbox_id, _ in active.values()}))
        )
    }
    routes = {}
    for number, (reply_inbox_id, handling) in active.items():
        target = targets.get(reply_inbox_id)
        if target is None or target.archived_at is not None:
            continue  # its reply inbox was archived since: the number's own rules apply
        columns = {name: getattr(target, name) for name in Inbox.model_fields}
        routes[number] = Inbox.model_construct(**(columns | {"unsolicited": handling}))
    return routes


async def due_ids(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(col(Campaign.id))
        .where(col(Campaign.status) == "scheduled", col(Campaign.send_at) <= now)
        .order_by(col(Campaign.send_at))
    )
    return [i for i in rows if i is not None]


async def claim(session: AsyncSession, campaign_id: int, now: datetime) -> Campaign | None:
    """Take a due campaign for sending, in the write transaction that stores its texts: one
    process's UPDATE changes the row, every other's finds it taken (None)."""
    taken = await session.execute(
        update(Campaign)
        .where(
            col(Campaign.id) == campaign_id,
            col(Campaign.status) == "scheduled",
            col(Campaign.send_at) <= now,
        )
        .values(status="active", sent_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(Campaign, campaign_id, populate_existing=True)


def recipients_of(campaign: Campaign) -> dict[str, list[Any]]:
    loaded: dict[str, list[Any]] = json.loads(campaign.recipients)
    return loaded


async def campaign_views(
    session: AsyncSession, rows: Sequence[Campaign], now: datetime
) -> list[dict[str, Any]]:
    ids = [c.id for c in rows if c.id is not None]
    number_ids = await number_ids_of(session, ids)
    wanted = {n for ns in number_ids.values() for n in ns}
    numbers = {
        n.id: n
        for n in await session.scalars(select(PhoneNumber).where(col(PhoneNumber.id).in_(wanted)))
    }
    inbox_ids = {c.inbox_id for c in rows} | {c.reply_inbox_id for c in rows}
    inboxes = {
        i.id: i for i in await session.scalars(select(Inbox).where(col(Inbox.id).in_(inbox_ids)))
    }
    users = {
        u.id: u
        for u in await session.scalars(
            select(User).where(col(User.id).in_({c.created_by for c in rows}))
        )
    }
    views = []
    for c in rows:
        recipients = recipients_of(c)
        creator = users.get(c.created_by)
        views.append(
            {
                "id": c.id,
                "name": c.name,
                "inbox": {"id": c.inbox_id, "name": inboxes[c.inbox_id].name},
                "numbers": [
                    {"id": n, "name": numbers[n].number} for n in number_ids.get(c.id or 0, [])
                ],
                "body": c.body,
                "contact_ids": recipients["contact_ids"],
                "recipient_numbers": recipients["numbers"],
                "status": state_of(c, now),
                "send_at": iso(c.send_at),
                "archive_at": iso(c.archive_at),
                "handling": c.handling,
                "reply_inbox": {"id": c.reply_inbox_id, "name": inboxes[c.reply_inbox_id].name},
                "created_by": {"id": creator.id, "name": creator.name} if creator else None,
                "sent_at": iso(c.sent_at),
                "queued": c.queued,
                "skipped": c.skipped,
                "archived_at": iso(c.archived_at),
                "created_at": iso(c.created_at),
            }
        )
    return views
