"""Client commands on `/ws` (DESIGN.md, "WebSocket"): `hello`, `ping`, `message.send`,
`conversation.view` and the lock commands. Each handler gets a `Command` and answers with
`ack()`, or raises a refusal that server/socket/endpoint.py answers as an `error` frame with the
command's `ref`.

Every conversation command first checks that the conversation belongs to one of the
connection's inboxes (the membership the bus also uses to filter this connection's events). A
conversation's team and inbox never change, so they are cached per process: a lock command
costs no store read, only Redis (and a write transaction when an event is appended)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from inbox import accounts, messages
from inbox.errors import ForbiddenError, NotFoundError
from inbox.models import Conversation, User
from presence.types import Holder
from realtime.connections import Connection
from realtime.events import ack_frame, pong_frame
from server.errors import ApiError
from server.flows import locks, presence
from server.flows.events import iso_ms, lock_data
from server.flows.sending import send_text
from server.inputs import int_or_none
from server.services import Services

SCOPE_CACHE_SIZE = 100_000  # conversations; two ints each, a few MB at most

# (store URL, conversation id) -> (team id, inbox id); the URL keeps two apps in one process
# (the tests) from mixing up their conversations.
_scopes: dict[tuple[str, int], tuple[int, int]] = {}


@dataclass
class Command:
    type: str
    ref: Any
    data: dict[str, Any]
    conn: Connection
    svc: Services
    ws: WebSocket

    def ack(self, data: dict[str, Any]) -> None:
        self.conn.reply(ack_frame(self.ref, data))

    def conversation_id(self) -> int:
        value = int_or_none(self.data.get("conversation_id"))
        if value is None:
            raise ApiError(422, "invalid", "data.conversation_id must be a number")
        return value

    async def user(self) -> tuple[User, set[int]]:
        """The connection's user as the store has them now, and the inboxes they may see."""
        async with self.svc.db.read() as session:
            user = await session.get(User, self.conn.user_id)
            if user is None:
                raise ApiError(401, "unauthenticated", "this user no longer exists")
            return user, await accounts.visible_inbox_ids(session, user)

    def base_url(self) -> str:
        scheme = "https" if self.ws.url.scheme == "wss" else "http"
        return f"{scheme}://{self.ws.headers.get('host', '')}"

    async def scope(self, conversation_id: int) -> tuple[int, int]:
        """The conversation's (team, inbox), after checking the caller may see it."""
        key = (self.svc.settings.database_url, conversation_id)
        scope = _scopes.get(key)
        if scope is None:
            async with self.svc.db.read() as session:
                conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFoundError(f"no conversation {conversation_id}")
            if len(_scopes) >= SCOPE_CACHE_SIZE:
                _scopes.clear()
            scope = _scopes[key] = (conversation.team_id, conversation.inbox_id)
        if scope[0] != self.conn.team_id or scope[1] not in self.conn.inbox_ids:
            raise ForbiddenError("you are not a member of this conversation's inbox")
        return scope

    def holder(self) -> Holder:
        who = presence.holder(self.conn)
        if who is None:
            raise ApiError(401, "unauthenticated", "this connection is not registered")
        return who


Handler = Callable[[Command], Awaitable[None]]


async def hello(cmd: Command) -> None:
    """Replay what the client missed (or tell it to resync), then answer: the ack comes after
    the replayed events, so a client that waits for it has them all."""
    last = cmd.data.get("last_event_id")
    if last is not None:
        if int_or_none(last) is None or last < 0:
            raise ApiError(422, "invalid", "last_event_id must be a whole number")
        replayed = await cmd.svc.hub.replay(cmd.conn, last)
        cmd.ack({"last_event_id": last, "resync": not replayed})
    else:
        cmd.ack({"last_event_id": None, "resync": False})


async def ping(cmd: Command) -> None:
    cmd.conn.reply(pong_frame(cmd.ref))


async def message_send(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    user, visible = await cmd.user()
    sent = await send_text(
        cmd.svc,
        user,
        conversation_id,
        visible,
        cmd.data.get("body"),
        callback_base=cmd.base_url(),
        seen_message_id=int_or_none(cmd.data.get("seen_message_id")),
        media_ids=cmd.data.get("media_ids"),
    )
    cmd.ack({"message": sent.message, "unseen_messages": sent.unseen_messages})


async def conversation_view(cmd: Command) -> None:
    """Say which conversation this tab shows (null: none); answers with its lock, if any."""
    if cmd.data.get("conversation_id") is None:
        await presence.viewing(cmd.svc, cmd.conn, None)
        cmd.ack({"conversation_id": None, "lock": None})
        return
    conversation_id = cmd.conversation_id()
    await cmd.scope(conversation_id)
    async with cmd.svc.db.read() as session:
        newest = await messages.newest_message_id(session, conversation_id)
    await presence.viewing(cmd.svc, cmd.conn, conversation_id)
    await cmd.svc.presence.mark_seen(cmd.conn.user_id, conversation_id, newest)
    lock = await cmd.svc.locks.get(conversation_id)
    cmd.ack({"conversation_id": conversation_id, "lock": lock_data(lock) if lock else None})


async def lock_acquire(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    team_id, inbox_id = await cmd.scope(conversation_id)
    await locks.acquire(
        cmd.svc,
        cmd.holder(),
        conversation_id,
        team_id,
        inbox_id,
        decided=lambda lock: cmd.ack(lock_data(lock)),
    )


async def lock_touch(cmd: Command) -> None:
    """Typing, or "still working" (the answer to lock.idle_prompt): push the deadline out."""
    conversation_id = cmd.conversation_id()
    scope = await cmd.scope(conversation_id)
    touched = await cmd.svc.locks.touch(conversation_id, scope[0], cmd.conn.user_id)
    cmd.ack({"conversation_id": conversation_id, "expires_at": iso_ms(touched.deadline_ms)})
    who = presence.holder(cmd.conn)
    if touched.answered_prompt and who is not None:
        locks.queue_confirmed(
            cmd.svc, scope, conversation_id, who, touched.deadline_ms, touched.version
        )


async def lock_release(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    team_id, _ = await cmd.scope(conversation_id)
    await locks.release(
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


HANDLERS: dict[str, Handler] = {
    "hello": hello,
    "ping": ping,
    "message.send": message_send,
    "conversation.view": conversation_view,
    "lock.acquire": lock_acquire,
    "lock.activity": lock_touch,
    "lock.confirm": lock_touch,
    "lock.release": lock_release,
}
