"""An admin's changes to inboxes (DESIGN.md, "Admin"; seed 004's wizard): making one, changing
its settings (name, API code, colour, number, voice forwarding number, unsolicited handling,
HELP answer, automatic assignment and its cap, the SLA target), its members, and archiving
it. Each change, its events and its audit entry commit together: `access.changed` to each
user whose inboxes changed (first, so they may see what follows), then `inbox.created` or
`inbox.updated` to the inbox's members and the admins (a change of members alone: to the
admins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import assignment, audit, inboxes, memberships
from inbox.models import EventRecord, Inbox, PhoneNumber, User
from server.flows.events import (
    append_access_changed,
    append_inbox_changed,
    append_phone_numbers_updated,
)
from server.services import Services


@dataclass
class Settings:
    """What an admin set; a field left out of the request is not in `given`."""

    given: dict[str, Any] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.given


async def _view(session: AsyncSession, inbox: Inbox) -> dict[str, Any]:
    (view,) = await inboxes.settings_views(session, [inbox])
    return view


async def _apply(session: AsyncSession, inbox: Inbox, settings: Settings) -> list[int]:
    """Set what was given, checking each value; the users whose access changed (members
    given, and the bot named for unsolicited texts, which becomes one)."""
    assert inbox.id is not None
    given = settings.given
    if "name" in given:
        inbox.name = inboxes.check_name(given["name"])
    if "api_code" in given:
        await inboxes.set_code(session, inbox, given["api_code"])
    if "colour" in given:
        inbox.colour = inboxes.check_colour(given["colour"])
    if "voice_forward_to" in given:
        inbox.forwarding_number = inboxes.check_forwarding(given["voice_forward_to"])
    if "help_text" in given:
        inbox.help_text = given["help_text"]
    for key, value in assignment.check_settings(given).items():
        setattr(inbox, key, value)
    session.add(inbox)
    if "phone_number_id" in given:
        await inboxes.assign_number(session, inbox, given["phone_number_id"])
    touched: list[int] = []
    if "member_ids" in given:
        _, touched = await memberships.set_members(
            session, inbox.team_id, inbox.id, given["member_ids"], keep_bot=False
        )
    if given.keys() & {"unsolicited", "unsolicited_to", "member_ids"}:
        mode = given.get("unsolicited", inbox.unsolicited)
        touched += await inboxes.set_unsolicited(session, inbox, mode, given.get("unsolicited_to"))
    await session.flush()
    return sorted(set(touched))


async def _numbers_moved(
    svc: Services, session: AsyncSession, inbox: Inbox, before: PhoneNumber | None
) -> list[EventRecord]:
    """`phone_number.updated` for the number the inbox let go and the one it was given."""
    assert inbox.id is not None
    after = await inboxes.number_of(session, inbox.id)
    moved = [n for n in (before, after) if n is not None]
    if before is not None and after is not None and before.id == after.id:
        return []
    for number in moved:
        await session.refresh(number)
    s = svc.settings
    return await append_phone_numbers_updated(
        session, inbox.team_id, moved, s.number_lifetimes, s.clock()
    )


async def create_inbox(svc: Services, actor: User, settings: Settings) -> dict[str, Any]:
    """A new inbox with its members (the team's first is unregistered: inbox/inboxes.py)."""
    given = settings.given
    async with svc.db.write() as session:
        inbox = await inboxes.create_inbox(
            session, actor.team_id, given.get("name"), given.get("api_code"), given.get("colour")
        )
        assert inbox.id is not None
        rest = Settings({k: v for k, v in given.items() if k not in ("name", "api_code", "colour")})
        touched = await _apply(session, inbox, rest)
        events = await append_access_changed(session, actor.team_id, touched)
        events += await append_inbox_changed(session, inbox, created=True)
        events += await _numbers_moved(svc, session, inbox, None)
        view = await _view(session, inbox)
        await audit.record(
            session, actor.team_id, actor, "inbox.created", ("inbox", inbox.id), None, view
        )
    await svc.announce(*events)
    return view


async def update_inbox(
    svc: Services, actor: User, inbox_id: int, settings: Settings
) -> dict[str, Any]:
    async with svc.db.write() as session:
        inbox = await memberships.team_inbox(session, actor.team_id, inbox_id)
        inboxes.check_not_archived(inbox)
        before = await _view(session, inbox)
        old_number = await inboxes.number_of(session, inbox_id)
        touched = await _apply(session, inbox, settings)
        after = await _view(session, inbox)
        changed_before, changed_after = audit.diff(before, after)
        events: list[EventRecord] = []
        if changed_after:
            events += await append_access_changed(session, actor.team_id, touched)
            events += await append_inbox_changed(session, inbox)
            if "phone_number_id" in changed_after:
                events += await _numbers_moved(svc, session, inbox, old_number)
            await audit.record(
                session, actor.team_id, actor, "inbox.updated", ("inbox", inbox_id),
                changed_before, changed_after,
            )  # fmt: skip
    await svc.announce(*events)
    return after


async def set_members(
    svc: Services, actor: User, inbox_id: int, user_ids: Sequence[int]
) -> list[int]:
    async with svc.db.write() as session:
        before = sorted(await memberships.member_ids(session, inbox_id))
        members, touched = await memberships.set_members(session, actor.team_id, inbox_id, user_ids)
        events = await append_access_changed(session, actor.team_id, touched)
        if touched:
            inbox = await memberships.team_inbox(session, actor.team_id, inbox_id)
            events += await append_inbox_changed(session, inbox, admins_only=True)
            await audit.record(
                session, actor.team_id, actor, "inbox.members", ("inbox", inbox_id),
                {"member_ids": before}, {"member_ids": members},
            )  # fmt: skip
    await svc.announce(*events)
    return members


async def archive_inbox(svc: Services, actor: User, inbox_id: int) -> dict[str, Any]:
    """Archive: read-only conversations, the number let go (inbox/inboxes.py)."""
    async with svc.db.write() as session:
        inbox = await memberships.team_inbox(session, actor.team_id, inbox_id)
        before = await _view(session, inbox)
        old_number = await inboxes.number_of(session, inbox_id)
        await inboxes.archive_inbox(session, inbox)
        after = await _view(session, inbox)
        events = await append_inbox_changed(session, inbox)
        events += await _numbers_moved(svc, session, inbox, old_number)
        changed = audit.diff(before, after)
        await audit.record(
            session, actor.team_id, actor, "inbox.archived", ("inbox", inbox_id), *changed
        )
    await svc.announce(*events)
    return after
