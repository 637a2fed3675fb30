"""Contacts: a name and one or more numbers. Several contacts may share a number (a family's or
an office's phone): the number then means the most recently created of them (seed 000's rule;
`newest_contacts`), and a conversation with it shows that one. Replacing a number makes the
conversations with the old one read-only (they stay readable; sends are refused) unless another
contact still has it (they then show that one); texts with the new number start new ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.models import Contact, ContactNumber, Conversation
from inbox.phones import to_e164

MAX_NAME_CHARS = 200  # longer than any real name, short enough for a list row
MAX_NOTES_CHARS = 5000  # a page of "who is this"

_CONTACT = Contact.metadata.tables["contact"]
_CONTACT_NUMBER = ContactNumber.metadata.tables["contactnumber"]
# Built once (every batch of inbound texts runs it), the numbers an expanding parameter; oldest
# contact first, so the newest of a shared number is the one kept.
_SELECT_OWNERS = (
    select(_CONTACT_NUMBER.c.number, _CONTACT_NUMBER.c.contact_id)
    .join(_CONTACT, _CONTACT.c.id == _CONTACT_NUMBER.c.contact_id)
    .where(
        _CONTACT_NUMBER.c.team_id == bindparam("team"),
        _CONTACT_NUMBER.c.number.in_(bindparam("numbers", expanding=True)),
    )
    .order_by(_CONTACT.c.created_at, _CONTACT.c.id)
)


def contact_view(contact: Contact, numbers: Sequence[str]) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "numbers": list(numbers),
        "notes": contact.notes,
    }


def parse_notes(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidInputError("notes is text")
    if len(raw) > MAX_NOTES_CHARS:
        raise InvalidInputError(f"notes are at most {MAX_NOTES_CHARS} characters", "too_long")
    return raw.strip()


def parse_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("name is required")
    if len(raw) > MAX_NAME_CHARS:
        raise InvalidInputError(f"name is over {MAX_NAME_CHARS} characters", "too_long")
    return raw.strip()


def parse_numbers(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) for n in raw):
        raise InvalidInputError("numbers is a list of at least one phone number")
    numbers: dict[str, None] = {}
    for number in (to_e164(n) for n in raw):
        if number in numbers:  # written two ways, perhaps: a mistake worth showing
            raise ConflictError(f"{number} is given twice", "duplicate_number")
        numbers[number] = None
    return list(numbers)


async def numbers_of(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(col(ContactNumber.contact_id), col(ContactNumber.number))
        .where(col(ContactNumber.contact_id).in_(contact_ids))
        .order_by(col(ContactNumber.id))
    )
    found: dict[int, list[str]] = {i: [] for i in contact_ids}
    for contact_id, number in rows:
        found[contact_id].append(number)
    return found


async def newest_contacts(
    session: AsyncSession, team_id: int, numbers: Sequence[str]
) -> dict[str, int]:
    """The contact each number means: the most recently created of the team's contacts with it
    (numbers no contact has are left out)."""
    if not numbers:
        return {}
    rows = await session.execute(_SELECT_OWNERS, {"team": team_id, "numbers": list(numbers)})
    return {number: contact_id for number, contact_id in rows}


async def sharing(session: AsyncSession, contact: Contact) -> list[dict[str, Any]]:
    """The team's other contacts with one of this contact's numbers: `{id, name, number}` per
    number shared, the most recently created first."""
    mine = select(col(ContactNumber.number)).where(col(ContactNumber.contact_id) == contact.id)
    rows = await session.execute(
        select(col(Contact.id), col(Contact.name), col(ContactNumber.number))
        .join(ContactNumber, col(ContactNumber.contact_id) == col(Contact.id))
        .where(
            col(ContactNumber.team_id) == contact.team_id,
            col(ContactNumber.number).in_(mine),
            col(Contact.id) != contact.id,
        )
        .order_by(col(Contact.created_at).desc(), col(Contact.id).desc(), col(ContactNumber.id))
    )
    return [{"id": i, "name": name, "number": number} for i, name, number in rows]


async def teams_of(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, int]:
    """Each contact's team, so callers can refuse another team's contacts."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(col(Contact.id), col(Contact.team_id)).where(col(Contact.id).in_(contact_ids))
    )
    return {contact_id: team_id for contact_id, team_id in rows if contact_id is not None}


async def get_contact(session: AsyncSession, team_id: int, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.team_id != team_id:
        raise NotFoundError(f"no contact {contact_id}")
    return contact


async def _conversations_with(
    session: AsyncSession, team_id: int, numbers: Sequence[str]
) -> list[Conversation]:
    if not numbers:
        return []
    rows = await session.scalars(
        select(Conversation).where(
            col(Conversation.team_id) == team_id, col(Conversation.counterparty).in_(numbers)
        )
    )
    return list(rows)


async def create_contact(
    session: AsyncSession, team_id: int, name: Any, numbers: Any, notes: Any = None
) -> tuple[Contact, list[str], list[Conversation]]:
    """Store the contact; return it, its numbers, and the conversations that now show it."""
    clean_name, clean_numbers = parse_name(name), parse_numbers(numbers)
    clean_notes = "" if notes is None else parse_notes(notes)
    contact = Contact(team_id=team_id, name=clean_name, notes=clean_notes)
    session.add(contact)
    await session.flush()
    assert contact.id is not None
    for number in clean_numbers:
        session.add(ContactNumber(team_id=team_id, contact_id=contact.id, number=number))
    changed = await _conversations_with(session, team_id, clean_numbers)
    for conversation in changed:
        conversation.contact_id = contact.id
    await session.flush()
    return contact, clean_numbers, changed


async def update_contact(
    session: AsyncSession,
    contact: Contact,
    name: Any = None,
    numbers: Any = None,
    notes: Any = None,
) -> tuple[list[str], list[Conversation]]:
    """Rename, replace the numbers and/or the notes; return the numbers and the conversations
    changed."""
    assert contact.id is not None
    old = (await numbers_of(session, [contact.id]))[contact.id]
    new = old if numbers is None else parse_numbers(numbers)
    if name is not None:
        contact.name = parse_name(name)
    if notes is not None:
        contact.notes = parse_notes(notes)
    gone, added = [n for n in old if n not in new], [n for n in new if n not in old]
    if gone or added:
        await session.execute(
            delete(ContactNumber).where(col(ContactNumber.contact_id) == contact.id)
        )
        for number in new:
            session.add(
                ContactNumber(team_id=contact.team_id, contact_id=contact.id, number=number)
            )
        await session.flush()
    owners = await newest_contacts(session, contact.team_id, gone + added)
    changed = await _conversations_with(session, contact.team_id, old if name is not None else gone)
    for conversation in changed:
        if conversation.counterparty in gone and conversation.contact_id == contact.id:
            owner = owners.get(conversation.counterparty)
            if owner is None:
                conversation.read_only = True  # nobody answers at this number any more
            else:
                conversation.contact_id = owner  # another contact still has it
    for conversation in await _conversations_with(session, contact.team_id, added):
        # An older contact taking a number a newer one has leaves it showing the newer one.
        conversation.contact_id, conversation.read_only = owners[conversation.counterparty], False
        changed.append(conversation)
    session.add(contact)
    await session.flush()
    return new, changed


async def list_contacts(
    session: AsyncSession, team_id: int, q: str | None, after: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    query = select(Contact).where(col(Contact.team_id) == team_id)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            col(Contact.name).ilike(like)
            | col(Contact.id).in_(
                select(col(ContactNumber.contact_id)).where(col(ContactNumber.number).like(like))
            )
        )
    if after is not None:
        query = query.where(col(Contact.id) > after)
    rows = list(await session.scalars(query.order_by(col(Contact.id)).limit(limit + 1)))
    page = rows[:limit]
    numbers = await numbers_of(session, [c.id for c in page if c.id is not None])
    items = [contact_view(c, numbers[c.id or 0]) for c in page]
    return items, (page[-1].id if len(rows) > limit else None)


async def conversations_of(
    session: AsyncSession, contact: Contact, visible: set[int]
) -> list[Conversation]:
    """The contact's conversations in the inboxes the caller may see, newest activity first
    (those with a number they no longer use too: they stay readable)."""
    rows = await session.scalars(
        select(Conversation)
        .where(col(Conversation.contact_id) == contact.id, col(Conversation.inbox_id).in_(visible))
        .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
    )
    return list(rows)
