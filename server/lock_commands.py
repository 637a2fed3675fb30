"""Socket commands for presence and locks (DESIGN.md, "WebSocket"): `conversation.view`,
`lock.acquire`, `lock.activity`, `lock.confirm`, `lock.release`. Every one checks that the
caller is a member of the conversation's inbox before touching Redis."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import accounts, conversations
from inbox.models import Conversation, Message, User
from server import locking, online
from server.commands import Command, Handler
from server.errors import ApiError
from server.locking import iso_ms, lock_view, presence_errors


async def newest_message_id(session: AsyncSession, conversation_id: int) -> int:
    newest = await session.scalar(
        select(func.max(col(Message.id))).where(col(Message.conversation_id) == conversation_id)
    )
    return int(newest or 0)


async def _target(cmd: Command, conversation_id: int) -> tuple[User, Conversation, int]:
    """The caller, the conversation they may see, and its newest message id."""
    async with cmd.svc.db.read() as session:
        user = await session.get(User, cmd.conn.user_id)
        if user is None:
            raise ApiError(401, "unauthenticated", "this user no longer exists")
        visible = await accounts.visible_inbox_ids(session, user)
        conversation = await conversations.get_conversation(session, conversation_id, visible)
        return user, conversation, await newest_message_id(session, conversation_id)


async def conversation_view(cmd: Command) -> None:
    """Say which conversation this tab shows (null: none); answers with its lock, if any."""
    if cmd.data.get("conversation_id") is None:
        with presence_errors():
            await online.viewing(cmd.svc, cmd.conn, None)
        cmd.ack({"conversation_id": None, "lock": None})
        return
    conversation_id = cmd.conversation_id()
    user, _, newest = await _target(cmd, conversation_id)
    with presence_errors():
        await online.viewing(cmd.svc, cmd.conn, conversation_id)
        await cmd.svc.presence.mark_seen(cmd.conn.user_id, conversation_id, newest)
        lock = await cmd.svc.locks.get(conversation_id)
    view = lock_view(lock) if lock else None
    cmd.ack({"conversation_id": conversation_id, "lock": view})


async def lock_acquire(cmd: Command) -> None:
    user, conversation, _ = await _target(cmd, cmd.conversation_id())
    lock = await locking.acquire(cmd.svc, user, conversation)
    cmd.ack(lock_view(lock))


async def _touch(cmd: Command) -> None:
    _, conversation, _ = await _target(cmd, cmd.conversation_id())
    assert conversation.id is not None
    with presence_errors():
        deadline = await cmd.svc.locks.touch(
            conversation.id, conversation.team_id, cmd.conn.user_id
        )
    cmd.ack({"conversation_id": conversation.id, "expires_at": iso_ms(deadline)})


async def lock_release(cmd: Command) -> None:
    _, conversation, _ = await _target(cmd, cmd.conversation_id())
    assert conversation.id is not None
    released = await locking.release(
        cmd.svc, conversation.team_id, conversation.id, cmd.conn.user_id, "released"
    )
    cmd.ack({"conversation_id": conversation.id, "released": released is not None})


LOCK_HANDLERS: dict[str, Handler] = {
    "conversation.view": conversation_view,
    "lock.acquire": lock_acquire,
    "lock.activity": _touch,  # typing: push the deadline out
    "lock.confirm": _touch,  # "still working": the answer to lock.idle_prompt
    "lock.release": lock_release,
}
