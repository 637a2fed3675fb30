"""A campaign's override of its number ends by itself at its archive date (inbox/campaigns.py,
read at the moment a text arrives), and begins only once it was sent: on the run's store, with
the demo's inboxes and numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from inbox import campaigns
from inbox.db import Database
from inbox.models import Campaign, CampaignNumber, PhoneNumber
from server.demo import seed_demo
from tests.helpers import FRONT_DESK, open_store

SENT = datetime(2026, 12, 1, 9, tzinfo=UTC)
ARCHIVE = SENT + timedelta(days=7)


async def _campaign(db: Database, status: str) -> None:
    async with db.write() as session:
        desk = await session.get(PhoneNumber, 1)
        assert desk is not None and desk.number == FRONT_DESK
        campaign = Campaign(
            team_id=1, inbox_id=1, name="Flu shots", body="Book now",
            recipients=json.dumps({"contact_ids": [], "numbers": ["+15557740001"]}),
            status=status, send_at=SENT, archive_at=ARCHIVE, handling="agent",
            reply_inbox_id=2, created_by=1, sent_at=SENT if status == "active" else None,
        )  # fmt: skip
        session.add(campaign)
        await session.flush()
        assert campaign.id is not None
        session.add(CampaignNumber(campaign_id=campaign.id, phone_number_id=1))


async def test_the_override_lasts_from_the_send_to_the_archive_date(database_url: str) -> None:
    async with open_store(database_url) as db:
        await db.upgrade()
        await seed_demo(db)
        await _campaign(db, "active")
        async with db.read() as session:
            during = await campaigns.reply_routes(session, [FRONT_DESK], ARCHIVE - timedelta(1))
            after = await campaigns.reply_routes(session, [FRONT_DESK], ARCHIVE)
            (row,) = await campaigns.team_campaigns(session, 1)
        assert during[FRONT_DESK].id == 2 and during[FRONT_DESK].unsolicited == "agent"
        assert after == {}  # its archive date: the number's own inbox again
        assert campaigns.state_of(row, ARCHIVE - timedelta(1)) == "active"
        assert campaigns.state_of(row, ARCHIVE) == "archived"


async def test_a_scheduled_campaign_overrides_nothing_until_it_is_sent(database_url: str) -> None:
    async with open_store(database_url) as db:
        await db.upgrade()
        await seed_demo(db)
        await _campaign(db, "scheduled")
        async with db.read() as session:
            assert await campaigns.reply_routes(session, [FRONT_DESK], SENT + timedelta(1)) == {}
        async with db.write() as session:
            assert await campaigns.claim(session, 1, SENT - timedelta(seconds=1)) is None  # early
            claimed = await campaigns.claim(session, 1, SENT)
            assert claimed is not None and claimed.status == "active"
            assert await campaigns.claim(session, 1, SENT) is None  # once
        async with db.read() as session:
            routes = await campaigns.reply_routes(session, [FRONT_DESK], SENT + timedelta(1))
        assert routes[FRONT_DESK].id == 2
