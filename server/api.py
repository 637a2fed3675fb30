"""REST under /api/v1 (DESIGN.md, "REST")."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import accounts, contacts, conversations, eventlog, messages, triage
from inbox.models import Inbox, User
from inbox.phones import to_e164
from inbox.views import inbox_view, user_view
from server.auth import require_user
from server.errors import ApiError
from server.sending import send_text
from server.state import services

MAX_PAGE_SIZE = 200  # a page a browser renders at once without stalling


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "the request body is not JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return body


def path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not str(raw).isdigit():
        raise ApiError(404, "not_found", f"{name} must be a number")
    return int(raw)


def page_limit(raw: str | None) -> int:
    if raw is None:
        return conversations.PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid", f"limit must be 1 to {MAX_PAGE_SIZE}")
    return int(raw)


async def caller(request: Request) -> tuple[User, set[int]]:
    user = await require_user(request)
    async with services(request).db.read() as session:
        return user, await accounts.visible_inbox_ids(session, user)


async def me(request: Request) -> JSONResponse:
    user = await require_user(request)
    async with services(request).db.read() as session:
        last = await eventlog.last_event_id(session, user.team_id)
    return JSONResponse(
        {
            **(user_view(user) or {}),
            "username": user.username,
            "role": user.role,
            "team_id": user.team_id,
            "last_event_id": last,  # where a new socket client starts (hello replays after it)
        }
    )


async def list_inboxes(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    async with services(request).db.read() as session:
        rows = await session.scalars(
            select(Inbox).where(col(Inbox.id).in_(visible)).order_by(col(Inbox.name))
        )
        return JSONResponse({"items": [inbox_view(i) for i in rows], "next": None})


async def list_conversations(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    q = request.query_params
    async with services(request).db.read() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        items, cursor = await conversations.list_conversations(
            session,
            inbox,
            user,
            folder=q.get("folder", "inbox"),
            assignee=q.get("assignee"),
            read=q.get("read"),
            q=q.get("q"),
            cursor=q.get("cursor"),
            limit=page_limit(q.get("limit")),
        )
        # Additive field for the browser list: the newest message's text.
        previews = await messages.last_bodies(session, [item["id"] for item in items])
    for item in items:
        item["preview"] = previews.get(item["id"])
    return JSONResponse({"items": items, "next": cursor})


async def start_conversation(request: Request) -> JSONResponse:
    """`{inbox_id, to}` or `{inbox_id, contact_id}`: the conversation with that number, made
    (201, published) when there is none yet, else the existing one (200)."""
    user, visible = await caller(request)
    body = await json_body(request)
    inbox_id, to = body.get("inbox_id"), body.get("to")
    if not isinstance(inbox_id, int) or isinstance(inbox_id, bool):
        raise ApiError(422, "invalid", "inbox_id (a number) and to (a phone number) are required")
    svc = services(request)
    async with svc.db.write() as session:
        inbox = await conversations.get_inbox(session, inbox_id, visible)
        number = await start_number(session, user, to, body.get("contact_id"))
        if inbox.phone_number is None:
            raise ApiError(409, "no_number", "this inbox has no number to text from")
        if number == inbox.phone_number:
            raise ApiError(422, "invalid_number", "an inbox cannot text its own number")
        conversation, created = await conversations.get_or_create_conversation(
            session, inbox, number
        )
        event = await triage.conversation_updated(session, conversation) if created else None
        (view,) = await conversations.describe(session, [conversation], user.id)
    await svc.announce(event)
    return JSONResponse(view, status_code=201 if created else 200)


async def start_number(session: AsyncSession, user: User, to: Any, contact_id: Any) -> str:
    if isinstance(to, str):
        return to_e164(to)
    if isinstance(contact_id, int) and not isinstance(contact_id, bool):
        contact = await contacts.get_contact(session, user.team_id, contact_id)
        assert contact.id is not None
        numbers = (await contacts.numbers_of(session, [contact.id]))[contact.id]
        if numbers:
            return numbers[0]
    raise ApiError(422, "invalid", "to (a phone number) or contact_id is required")


async def list_messages(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    before = request.query_params.get("before")
    async with services(request).db.read() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        items, next_before = await messages.list_messages(
            session, conversation, before=int(before) if before and before.isdigit() else None
        )
    return JSONResponse({"items": items, "next": next_before})


async def send_message(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    body = await json_body(request)
    seen = body.get("seen_message_id")
    sent = await send_text(
        services(request),
        user,
        path_id(request, "conversation_id"),
        visible,
        body.get("body"),
        callback_base=str(request.base_url),
        seen_message_id=seen if isinstance(seen, int) and not isinstance(seen, bool) else None,
    )
    return JSONResponse({**sent.message, "unseen_messages": sent.unseen_messages}, status_code=201)


routes = [
    Route("/me", me),
    Route("/inboxes", list_inboxes),
    Route("/inboxes/{inbox_id}/conversations", list_conversations),
    Route("/conversations", start_conversation, methods=["POST"]),
    Route("/conversations/{conversation_id}/messages", list_messages, methods=["GET"]),
    Route("/conversations/{conversation_id}/messages", send_message, methods=["POST"]),
]
