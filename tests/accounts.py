"""Teams and users made straight in the store, as `switchboard user create` does: another
team (whose data the demo team must never reach) and users with no inbox."""

from __future__ import annotations

from dataclasses import dataclass

from inbox import accounts
from inbox.db import Database
from inbox.models import Conversation, Inbox, InboxMember, Tag
from server.config import Settings
from server.demo import demo_password_hash


async def make_user(settings: Settings, username: str, role: str = "agent") -> int:
    """A user of the demo team who belongs to no inbox; logs in with the demo password."""
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            user = await accounts.create_user(session, 1, username, username.title(), role)
            user.password_hash = demo_password_hash()  # DEMO_PASSWORD's, hashed once
            assert user.id is not None
            return user.id
    finally:
        await db.dispose()


@dataclass(frozen=True)
class OtherTeam:
    user_id: int
    inbox_id: int
    conversation_id: int
    tag_id: int


async def make_other_team(settings: Settings, username: str = "zed") -> OtherTeam:
    """A second team with an admin (`username`), an inbox, a conversation and a tag."""
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            team = await accounts.create_team(session, "Elsewhere")
            assert team.id is not None
            user = await accounts.create_user(session, team.id, username, username.title(), "admin")
            user.password_hash = demo_password_hash()
            inbox = Inbox(
                team_id=team.id, name="Elsewhere", code="else", phone_number="+15005550099"
            )
            session.add(inbox)
            tag = Tag(team_id=team.id, name="Secret")
            session.add(tag)
            await session.flush()
            assert user.id is not None and inbox.id is not None and tag.id is not None
            session.add(InboxMember(inbox_id=inbox.id, user_id=user.id))
            conversation = Conversation(
                team_id=team.id, inbox_id=inbox.id, counterparty="+15557000001"
            )
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            return OtherTeam(user.id, inbox.id, conversation.id, tag.id)
    finally:
        await db.dispose()
