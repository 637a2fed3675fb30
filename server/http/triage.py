"""REST for conversation triage (DESIGN.md, "REST"): assign, hand-off, archive, read state, and
the sidebar counts. Each change appends its `conversation.updated` in the same transaction and
is announced after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import conversations, triage
from inbox.models import Conversation, User
from server.errors import ApiError
from server.flows.events import append_conversation_updated
from server.http._helpers import caller, json_body, path_id
from server.services import services

Change = Callable[[AsyncSession, Conversation, User, dict[str, Any]], Awaitable[None]]


async def change_conversation(request: Request, change: Change, *, personal: bool) -> JSONResponse:
    """Apply `change` and publish it: to the inbox, or (`personal`) to the caller only."""
    user, visible = await caller(request)
    assert user.id is not None
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        await change(session, conversation, user, body)
        event = await append_conversation_updated(
            session, conversation, user.id if personal else None
        )
        (view,) = await conversations.describe(session, [conversation], user.id)
    await svc.announce(event)
    return JSONResponse(view)


async def _assign(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    if "user_id" not in body:
        raise ApiError(422, "invalid", "user_id is required (a user id, or null to unassign)")
    await triage.assign(s, c, body["user_id"])


async def _handoff(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    await triage.assign(s, c, body.get("user_id"))
    c.handed_off = True


async def _archive(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    await triage.set_status(s, c, "archived")


async def _unarchive(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    await triage.set_status(s, c, "open")


async def _read(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    assert u.id is not None
    await triage.mark_read(s, c, u.id)


async def _unread(s: AsyncSession, c: Conversation, u: User, body: dict[str, Any]) -> None:
    assert u.id is not None
    await triage.mark_unread(s, c, u.id)


def _route(path: str, change: Change, *, personal: bool = False) -> Route:
    async def endpoint(request: Request) -> JSONResponse:
        return await change_conversation(request, change, personal=personal)

    return Route(f"/conversations/{{conversation_id}}/{path}", endpoint, methods=["POST"])


async def inbox_counts(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    async with services(request).db.read() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        return JSONResponse(await triage.counts(session, inbox, user))


routes = [
    _route("assign", _assign),
    _route("handoff", _handoff),
    _route("archive", _archive),
    _route("unarchive", _unarchive),
    _route("read", _read, personal=True),
    _route("unread", _unread, personal=True),
    Route("/inboxes/{inbox_id}/counts", inbox_counts),
]
