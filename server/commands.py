"""Client commands on `/ws` (DESIGN.md, "WebSocket"): each handler gets a `Command` and
answers with `ack()` or raises `ApiError`/`InboxError`, which `server/ws.py` turns into an
`error` frame carrying the command's `ref`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from inbox import accounts
from inbox.models import User
from realtime.hub import Connection
from server.errors import ApiError
from server.sending import send_text
from server.state import Services


def error_frame(ref: Any, code: str, message: str, **extra: Any) -> str:
    error = {"code": code, "message": message, **extra}
    return json.dumps({"type": "error", "ref": ref, "error": error})


@dataclass
class Command:
    type: str
    ref: Any
    data: dict[str, Any]
    conn: Connection
    svc: Services
    ws: WebSocket

    def ack(self, data: dict[str, Any]) -> None:
        self.conn.reply(json.dumps({"type": "ack", "ref": self.ref, "data": data}))

    def conversation_id(self) -> int:
        value = self.data.get("conversation_id")
        if not isinstance(value, int) or isinstance(value, bool):
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


Handler = Callable[[Command], Awaitable[None]]


async def hello(cmd: Command) -> None:
    last = cmd.data.get("last_event_id")
    if last is None:
        return
    if not isinstance(last, int) or isinstance(last, bool) or last < 0:
        raise ApiError(422, "invalid", "last_event_id must be a whole number")
    await cmd.svc.hub.replay(cmd.conn, last)  # or {"type": "resync"} when the log cannot


async def ping(cmd: Command) -> None:
    cmd.conn.reply(json.dumps({"type": "pong", "ref": cmd.ref}))


async def message_send(cmd: Command) -> None:
    conversation_id = cmd.conversation_id()
    user, visible = await cmd.user()
    seen = cmd.data.get("seen_message_id")
    sent = await send_text(
        cmd.svc,
        user,
        conversation_id,
        visible,
        cmd.data.get("body"),
        callback_base=cmd.base_url(),
        seen_message_id=seen if isinstance(seen, int) and not isinstance(seen, bool) else None,
    )
    cmd.ack({"message": sent.message, "unseen_messages": sent.unseen_messages})


HANDLERS: dict[str, Handler] = {
    "hello": hello,
    "ping": ping,
    "message.send": message_send,
}
