"""REST for conversation triage and inbox settings: assign, archive, read state, hand-off,
sidebar counts and out-of-office (DESIGN.md, "REST"). Each change appends its
`conversation.updated` in the same transaction and is announced after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import away, conversations, triage
from inbox.models import UNSOLICITED_MODES, Conversation, User
from inbox.segments import MAX_BODY_CHARS
from inbox.views import inbox_view
from server.api import caller, json_body, path_id
from server.errors import ApiError
from server.state import services

Change = Callable[[AsyncSession, Conversation, User, dict[str, Any]], Awaitable[None]]


def require_admin(user: User) -> None:
    if user.role != "admin":
        raise ApiError(403, "forbidden", "only admins may do this")


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
        event = await triage.conversation_updated(
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


async def get_out_of_office(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    svc = services(request)
    async with svc.db.read() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
    return JSONResponse(away.settings_view(inbox, svc.settings.clock()))


async def put_out_of_office(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    require_admin(user)
    body = await json_body(request)
    svc = services(request)
    now = svc.settings.clock()
    async with svc.db.write() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        away.configure(inbox, body, now)
        session.add(inbox)
    return JSONResponse(away.settings_view(inbox, now))


async def patch_inbox(request: Request) -> JSONResponse:
    """Admins: `{unsolicited?: "agent"|"bot", help_text?}` (the HELP answer)."""
    user, visible = await caller(request)
    require_admin(user)
    body = await json_body(request)
    mode, help_text = body.get("unsolicited"), body.get("help_text")
    if mode is not None and mode not in UNSOLICITED_MODES:
        raise ApiError(422, "invalid", f"unsolicited is one of {', '.join(UNSOLICITED_MODES)}")
    if help_text is not None and (
        not isinstance(help_text, str) or len(help_text) > MAX_BODY_CHARS
    ):
        raise ApiError(422, "invalid", f"help_text is at most {MAX_BODY_CHARS} characters")
    async with services(request).db.write() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        inbox.unsolicited = mode if mode is not None else inbox.unsolicited
        inbox.help_text = help_text if help_text is not None else inbox.help_text
        session.add(inbox)
    return JSONResponse({**inbox_view(inbox), "help_text": inbox.help_text})


routes = [
    Route("/inboxes/{inbox_id}", patch_inbox, methods=["PATCH"]),
    _route("assign", _assign),
    _route("handoff", _handoff),
    _route("archive", _archive),
    _route("unarchive", _unarchive),
    _route("read", _read, personal=True),
    _route("unread", _unread, personal=True),
    Route("/inboxes/{inbox_id}/counts", inbox_counts),
    Route("/inboxes/{inbox_id}/out-of-office", get_out_of_office, methods=["GET"]),
    Route("/inboxes/{inbox_id}/out-of-office", put_out_of_office, methods=["PUT"]),
]
