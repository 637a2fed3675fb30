"""Socket commands for presence and locks (DESIGN.md, "WebSocket"): `conversation.view`,
`lock.acquire`, `lock.activity`, `lock.confirm`, `lock.release`.

Every command checks that the conversation belongs to one of the connection's inboxes (the
membership the bus also uses to filter this connection's events) before touching Redis. A
conversation's team and inbox never change, so they are cached per process: a lock command
costs no store read, only Redis (and a write transaction when an event is appended)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col

from inbox.errors import ForbiddenError, NotFoundError
from inbox.models import Conversation, Message
from presence.errors import Holder
from server import locking, online
from server.commands import Command, Handler
from server.errors import ApiError
from server.locking import iso_ms, lock_view, presence_errors

SCOPE_CACHE_SIZE = 100_000  # conversations; two ints each, a few MB at most

# (store URL, conversation id) -> (team id, inbox id); the URL keeps two apps in one process
# (the tests) from mixing up their conversations.
_scopes: dict[tuple[str, int], tuple[int, int]] = {}


async def _scope(cmd: Command, conversation_id: int) -> tuple[int, int]:
    """The conversation's (team, inbox), after checking the caller may see it."""
    key = (cmd.svc.settings.database_url, conversation_id)
    scope = _scopes.get(key)
    if scope is None:
        async with cmd.svc.db.read() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFoundError(f"no conversation {conversation_id}")
        if len(_scopes) >= SCOPE_CACHE_SIZE:
            _scopes.clear()
        scope = _scopes[key] = (conversation.team_id, conversation.inbox_id)
    if scope[0] != cmd.conn.team_id or scope[1] not in cmd.conn.inbox_ids:
        raise ForbiddenError("you are not a member of this conversation's inbox")
    return scope


def _holder(cmd: Command) -> Holder:
    who = online.holder(cmd.conn)
    if who is None:
        raise ApiError(401, "unauthenticated", "this connection is not registered")
    return who


async def conversation_view(cmd: Command) -> None:
    """Say which conversation this tab shows (null: none); answers with its lock, if any."""
    if cmd.data.get("conversation_id") is None:
        with presence_errors():
            await online.viewing(cmd.svc, cmd.conn, None)
        cmd.ack({"conversation_id": None, "lock": None})
        return
    conversation_id = cmd.conversation_id()
    await _scope(cmd, conversation_id)
    async with cmd.svc.db.read() as session:
        newest = await session.scalar(
            select(func.max(col(Message.id))).where(col(Message.conversation_id) == conversation_id)
        )
    with presence_errors():
        await online.viewing(cmd.svc, cmd.conn, conversation_id)
        await cmd.svc.presence.mark_seen(cmd.conn.user_id, conversation_id, int(newest or 0))
        lock = await cmd.svc.locks.get(conversation_id)
    cmd.ack({"conversation_id": conversation_id, "lock": lock_view(lock) if lock else None})


async def lock_acquire(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    team_id, inbox_id = await _scope(cmd, conversation_id)
    await locking.acquire(
        cmd.svc,
        _holder(cmd),
        conversation_id,
        team_id,
        inbox_id,
        decided=lambda lock: cmd.ack(lock_view(lock)),
    )


async def _touch(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    team_id, _ = await _scope(cmd, conversation_id)
    with presence_errors():
        deadline = await cmd.svc.locks.touch(conversation_id, team_id, cmd.conn.user_id)
    cmd.ack({"conversation_id": conversation_id, "expires_at": iso_ms(deadline)})


async def lock_release(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    team_id, _ = await _scope(cmd, conversation_id)
    await locking.release(
        cmd.svc,
        team_id,
        conversation_id,
        cmd.conn.user_id,
        "released",
        decided=lambda released: cmd.ack(
            {
                "conversation_id": conversation_id,
                "released": released is not None,
                "version": released.version if released else None,
            }
        ),
    )


LOCK_HANDLERS: dict[str, Handler] = {
    "conversation.view": conversation_view,
    "lock.acquire": lock_acquire,
    "lock.activity": _touch,  # typing: push the deadline out
    "lock.confirm": _touch,  # "still working": the answer to lock.idle_prompt
    "lock.release": lock_release,
}
