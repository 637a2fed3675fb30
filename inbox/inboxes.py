"""Inboxes: finding them by their number; the admin's settings of one (seed 004's wizard: name,
API code, colour, phone number, voice forwarding number, unsolicited handling) and archiving
it. Functions run in the caller's write transaction and raise on bad input before changing
anything.

An inbox has at most one of the team's numbers and a number at most one inbox
(`assign_number`: the PhoneNumber row's `inbox_id`, unique, and the inbox's `phone_number`
copy that inbound routing reads are set together, here only)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.models import (
    UNSOLICITED_MODES,
    Conversation,
    Inbox,
    InboxMember,
    PhoneNumber,
    User,
    utcnow,
)
from inbox.phones import to_e164
from inbox.views import inbox_view, iso

MAX_NAME_CHARS = 80  # a sidebar line
MAX_CODE_CHARS = 40
CODE = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_CODE_CHARS - 1}}}")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#2f6fed"


async def inbox_by_number(session: AsyncSession, number: str) -> Inbox | None:
    """The inbox whose number is `number` (E.164), if any."""
    found: Inbox | None = await session.scalar(
        select(Inbox).where(col(Inbox.phone_number) == number)
    )
    return found


async def numbered_inboxes(session: AsyncSession, team_id: int) -> list[Inbox]:
    """The team's inboxes that can be texted (they have a number)."""
    rows = await session.scalars(
        select(Inbox).where(col(Inbox.team_id) == team_id, col(Inbox.phone_number).is_not(None))
    )
    return list(rows)


async def team_inboxes(session: AsyncSession, team_id: int) -> list[Inbox]:
    """Every inbox of the team, archived ones last, by name (the admin's list)."""
    rows = await session.scalars(
        select(Inbox)
        .where(col(Inbox.team_id) == team_id)
        .order_by(col(Inbox.archived_at).is_not(None), col(Inbox.name), col(Inbox.id))
    )
    return list(rows)


# -- checks -----------------------------------------------------------------------------------


def check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_CHARS:
        raise InvalidInputError(f"name must be 1 to {MAX_NAME_CHARS} characters")
    return value.strip()


def check_colour(value: Any) -> str:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise InvalidInputError("colour must be #rrggbb, like #2f6fed", "invalid_colour")
    return value.lower()


def check_code(value: Any) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise InvalidInputError(
            f"api_code must be 1 to {MAX_CODE_CHARS} of a-z, 0-9, - and _, starting with a "
            "letter or digit",
            "invalid_code",
        )
    return value


def check_forwarding(value: Any) -> str | None:
    """A voice forwarding number (E.164), or None to ring nowhere."""
    if value is None or value == "":
        return None
    refused = InvalidInputError(
        f"the voice forwarding number {value!r} is not a valid phone number", "invalid_number"
    )
    if not isinstance(value, str):
        raise refused
    try:
        number = to_e164(value)
    except InvalidInputError as exc:
        raise refused from exc
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        raise refused
    return number


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[: MAX_CODE_CHARS - 4] or "inbox"


async def _code_taken(session: AsyncSession, team_id: int, code: str, but: int | None) -> bool:
    query = select(col(Inbox.id)).where(col(Inbox.team_id) == team_id, col(Inbox.code) == code)
    if but is not None:
        query = query.where(col(Inbox.id) != but)
    return await session.scalar(query) is not None


async def free_code(session: AsyncSession, team_id: int, name: str) -> str:
    """An API code made from the name, unique in the team (`front-desk`, `front-desk-2`, ...)."""
    base = _slug(name)
    code, n = base, 1
    while await _code_taken(session, team_id, code, None):
        n += 1
        code = f"{base}-{n}"
    return code


# -- changes ----------------------------------------------------------------------------------


async def create_inbox(
    session: AsyncSession, team_id: int, name: Any, code: Any = None, colour: Any = None
) -> Inbox:
    """A new inbox. The team's first needs carrier registration before it can send (and only
    admins see it until then); once the team has a registered inbox, new ones are registered
    (the team's registration covers them)."""
    name = check_name(name)
    code = check_code(code) if code is not None else await free_code(session, team_id, name)
    if await _code_taken(session, team_id, code, None):
        raise ConflictError(f"another inbox has the API code {code!r}", "code_taken")
    registered = await session.scalar(
        select(col(Inbox.id)).where(
            col(Inbox.team_id) == team_id,
            col(Inbox.mailroom).is_(False),
            col(Inbox.registration) == "registered",
        )
    )
    inbox = Inbox(
        team_id=team_id,
        name=name,
        code=code,
        colour=check_colour(colour) if colour is not None else DEFAULT_COLOUR,
        registration="registered" if registered is not None else "unregistered",
    )
    session.add(inbox)
    await session.flush()
    return inbox


async def set_code(session: AsyncSession, inbox: Inbox, code: Any) -> None:
    code = check_code(code)
    if await _code_taken(session, inbox.team_id, code, inbox.id):
        raise ConflictError(f"another inbox has the API code {code!r}", "code_taken")
    inbox.code = code


async def number_of(session: AsyncSession, inbox_id: int) -> PhoneNumber | None:
    found: PhoneNumber | None = await session.scalar(
        select(PhoneNumber).where(col(PhoneNumber.inbox_id) == inbox_id)
    )
    return found


async def assign_number(session: AsyncSession, inbox: Inbox, phone_number_id: int | None) -> None:
    """Give the inbox one of its team's numbers (`None`: none). Refused: another team's
    number (404), a released one, one another inbox has (409); the inbox's old number is let
    go (it then has no inbox)."""
    assert inbox.id is not None
    number = None
    if phone_number_id is not None:
        number = await session.get(PhoneNumber, phone_number_id)
        if number is None or number.team_id != inbox.team_id:
            raise NotFoundError(f"no phone number {phone_number_id} in this team")
        if number.released_at is not None:
            raise ConflictError(f"{number.number} was released and cannot be used", "released")
        if number.inbox_id not in (None, inbox.id):
            other = await session.get(Inbox, number.inbox_id)
            raise ConflictError(
                f"{number.number} belongs to {other.name if other else 'another inbox'}; "
                "take it from that inbox first",
                "number_taken",
            )
    old = await number_of(session, inbox.id)
    if old is not None and old is not number:
        old.inbox_id = None
        session.add(old)
        await session.flush()  # the unique index on inbox_id: the old row lets go first
    inbox.phone_number = number.number if number is not None else None
    if number is not None:
        number.inbox_id = inbox.id
        session.add(number)
    session.add(inbox)
    await session.flush()


async def unsolicited_to(session: AsyncSession, inboxes: Sequence[Inbox]) -> dict[int, list[int]]:
    """Who each inbox's unsolicited texts go to: `[bot id]` for `bot` (empty: any bot member),
    the members who receive them for `agent` (empty: all members share them)."""
    ids = [i.id for i in inboxes if i.id is not None]
    receivers: dict[int, list[int]] = {i: [] for i in ids}
    rows = await session.execute(
        select(col(InboxMember.inbox_id), col(InboxMember.user_id))
        .where(col(InboxMember.inbox_id).in_(ids), col(InboxMember.unsolicited).is_(True))
        .order_by(col(InboxMember.user_id))
    )
    for inbox_id, user_id in rows:
        receivers[inbox_id].append(user_id)
    out = {}
    for inbox in inboxes:
        assert inbox.id is not None
        if inbox.unsolicited == "bot":
            out[inbox.id] = [inbox.unsolicited_bot_id] if inbox.unsolicited_bot_id else []
        else:
            out[inbox.id] = receivers[inbox.id]
    return out


async def inbox_views(session: AsyncSession, inboxes: Sequence[Inbox]) -> list[dict[str, Any]]:
    receivers = await unsolicited_to(session, inboxes)
    return [inbox_view(i, receivers.get(i.id or 0, [])) for i in inboxes]


async def settings_views(session: AsyncSession, inboxes: Sequence[Inbox]) -> list[dict[str, Any]]:
    """What an admin sees of each inbox: its view plus its number's id, voice forwarding
    number, members, HELP answer and archive date."""
    views = await inbox_views(session, inboxes)
    ids = [i.id for i in inboxes]
    members: dict[int | None, list[int]] = {i: [] for i in ids}
    for inbox_id, user_id in await session.execute(
        select(col(InboxMember.inbox_id), col(InboxMember.user_id))
        .where(col(InboxMember.inbox_id).in_(ids))
        .order_by(col(InboxMember.user_id))
    ):
        members[inbox_id].append(user_id)
    numbers = {
        n.inbox_id: n.id
        for n in await session.scalars(
            select(PhoneNumber).where(col(PhoneNumber.inbox_id).in_(ids))
        )
    }
    return [
        {
            **view,
            "phone_number_id": numbers.get(inbox.id),
            "voice_forward_to": inbox.forwarding_number,
            "member_ids": members[inbox.id],
            "help_text": inbox.help_text,
            "assignment": inbox.assignment,
            "assignment_cap": inbox.assignment_cap,
            "archived_at": iso(inbox.archived_at),
            "created_at": iso(inbox.created_at),
        }
        for inbox, view in zip(inboxes, views, strict=True)
    ]


async def set_unsolicited(
    session: AsyncSession, inbox: Inbox, mode: str, to: list[int] | None
) -> list[int]:
    """`agent` with the members who receive unsolicited texts, or `bot` with the bot user that
    answers them, which is made a member if it is not one; `to` None keeps whom. Returns the
    users who became members."""
    assert inbox.id is not None
    if mode not in UNSOLICITED_MODES:
        raise InvalidInputError(f"unsolicited is one of {', '.join(UNSOLICITED_MODES)}")
    members = {m.user_id: m for m in await _members(session, inbox.id)}
    inbox.unsolicited = mode
    session.add(inbox)
    if mode == "bot":
        if to is not None:
            if len(to) > 1:
                raise InvalidInputError("unsolicited_to names one bot for `bot`")
            bot = await session.get(User, to[0]) if to else None
            if to and (bot is None or bot.team_id != inbox.team_id or bot.role != "bot"):
                raise InvalidInputError(
                    "unsolicited_to must name a bot user of this team", "not_bot"
                )
            if bot is not None and bot.disabled_at is not None:
                raise InvalidInputError(f"{bot.name} is disabled", "disabled")
            inbox.unsolicited_bot_id = bot.id if bot is not None else None
        joined = []
        if inbox.unsolicited_bot_id is not None and inbox.unsolicited_bot_id not in members:
            session.add(InboxMember(inbox_id=inbox.id, user_id=inbox.unsolicited_bot_id))
            joined.append(inbox.unsolicited_bot_id)
        await session.flush()
        return joined
    if to is not None:
        strangers = set(to) - set(members)
        if strangers:
            raise InvalidInputError(
                f"user(s) {', '.join(map(str, sorted(strangers)))} are not members of this inbox",
                "not_member",
            )
        for member in members.values():
            member.unsolicited = member.user_id in to
            session.add(member)
    await session.flush()
    return []


async def _members(session: AsyncSession, inbox_id: int) -> list[InboxMember]:
    rows = await session.scalars(select(InboxMember).where(col(InboxMember.inbox_id) == inbox_id))
    return list(rows)


async def unsolicited_receiver(session: AsyncSession, inbox: Inbox) -> int | None:
    """Whom a new conversation started by a customer goes to on an `agent` inbox that names
    receivers: the one with the fewest open conversations assigned in the inbox (ties: the
    first by id). None: nobody named, so the members share it unassigned."""
    if inbox.unsolicited != "agent" or inbox.id is None:
        return None
    named = list(
        await session.scalars(
            select(col(InboxMember.user_id))
            .join(User, col(User.id) == col(InboxMember.user_id))
            .where(
                col(InboxMember.inbox_id) == inbox.id,
                col(InboxMember.unsolicited).is_(True),
                col(User.disabled_at).is_(None),
            )
            .order_by(col(InboxMember.user_id))
        )
    )
    if not named:
        return None
    loads = {user_id: 0 for user_id in named}
    rows = await session.scalars(
        select(col(Conversation.assignee_id)).where(
            col(Conversation.inbox_id) == inbox.id,
            col(Conversation.status) == "open",
            col(Conversation.assignee_id).in_(named),
        )
    )
    for user_id in rows:
        if user_id is not None:
            loads[user_id] += 1
    return min(named, key=lambda u: (loads[u], u))


async def archive_inbox(session: AsyncSession, inbox: Inbox) -> None:
    """Archive: its conversations stay readable and become read-only, its number is let go
    (texts to it then reach the Mailroom). There is no way back (a new inbox takes its place)."""
    if inbox.mailroom:
        raise InvalidInputError("the Mailroom cannot be archived")
    if inbox.archived_at is not None:
        raise ConflictError(f"{inbox.name} is archived already", "archived")
    await assign_number(session, inbox, None)
    inbox.archived_at = utcnow()
    inbox.away_enabled = False
    session.add(inbox)
    await session.execute(
        update(Conversation).where(col(Conversation.inbox_id) == inbox.id).values(read_only=True)
    )
    await session.flush()


def check_not_archived(inbox: Inbox) -> None:
    if inbox.archived_at is not None:
        raise ConflictError(f"{inbox.name} is archived: its settings are read-only", "archived")
