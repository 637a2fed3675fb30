"""A bot user with a token, made straight in the store as `switchboard token create` does."""

from __future__ import annotations

from inbox import accounts
from inbox.db import Database
from inbox.models import InboxMember
from server.config import Settings


async def make_bot(settings: Settings, username: str, inbox_ids: list[int]) -> str:
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            bot = await accounts.create_user(session, 1, username, username.title(), "bot")
            assert bot.id is not None
            for inbox_id in inbox_ids:
                session.add(InboxMember(inbox_id=inbox_id, user_id=bot.id))
            return await accounts.create_token(session, bot.id, "test")
    finally:
        await db.dispose()
