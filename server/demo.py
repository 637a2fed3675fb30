"""The demo team of `switchboard serve --demo` (DESIGN.md, "Configuration")."""

from __future__ import annotations

import logging
import uuid
from functools import cache

from inbox import accounts
from inbox.db import Database
from inbox.inbound import InboundText, Stored, receive_inbound
from inbox.models import Contact, ContactNumber, Inbox, InboxMember, PhoneNumber
from server.flows.events import append_message_created

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "switchboard"  # printed at start; demo only
FRONT_DESK_NUMBER = "+15005550006"
BILLING_NUMBER = "+15005550007"

_CONTACTS = [
    ("Dana Whitfield", "+15551230001", FRONT_DESK_NUMBER, "Hi, is the office open on Saturday?"),
    ("Marcus Lee", "+15551230002", FRONT_DESK_NUMBER, "Running 10 minutes late for my 3pm."),
    (
        "Priya Natarajan",
        "+15551230003",
        BILLING_NUMBER,
        "Can I get a copy of last month's invoice?",
    ),
]


@cache
def demo_password_hash() -> str:
    """The demo password's argon2 hash, made once per process and given to every demo user: the
    password is public, and each hash costs about 0.15 s of CPU on the event loop at start (a
    test run starts hundreds of demo servers)."""
    return accounts.hash_password(DEMO_PASSWORD)


async def seed_demo(db: Database) -> bool:
    """Seed the demo team when the store has no team yet; return whether it seeded."""
    async with db.write() as session:
        if await accounts.any_team(session):
            return False
        team = await accounts.create_team(session, "Demo")
        assert team.id is not None
        alice = await accounts.create_user(session, team.id, "alice", "Alice Admin", "admin")
        carol = await accounts.create_user(
            session, team.id, "carol", "Carol Supervisor", "supervisor"
        )
        bob = await accounts.create_user(session, team.id, "bob", "Bob Agent", "agent")
        for user in (alice, carol, bob):
            user.password_hash = demo_password_hash()
        inboxes = [
            ("Front Desk", "front", "#2f6fed", FRONT_DESK_NUMBER, [alice, bob, carol]),
            ("Billing", "billing", "#b7410e", BILLING_NUMBER, [alice, carol]),
        ]
        for name, code, colour, number, members in inboxes:
            inbox = Inbox(
                team_id=team.id,
                name=name,
                code=code,
                colour=colour,
                phone_number=number,
                registration="registered",
            )
            session.add(inbox)
            await session.flush()
            assert inbox.id is not None
            session.add(
                PhoneNumber(
                    team_id=team.id, number=number, label=name, inbox_id=inbox.id, registered=True
                )
            )
            for member in members:
                assert member.id is not None
                session.add(InboxMember(inbox_id=inbox.id, user_id=member.id))
        for name, number, inbox_number, text in _CONTACTS:
            contact = Contact(team_id=team.id, name=name)
            session.add(contact)
            await session.flush()
            assert contact.id is not None
            session.add(ContactNumber(team_id=team.id, contact_id=contact.id, number=number))
            await session.flush()
            arrived = InboundText(inbox_number, number, text, "SM" + uuid.uuid4().hex)
            (stored,) = await receive_inbound(session, [arrived])
            assert isinstance(stored, Stored)
            await append_message_created(session, stored.message, stored.conversation, None)
    return True
