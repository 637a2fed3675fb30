"""REST under /api/v1 (DESIGN.md, "REST")."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import accounts, conversations, messages
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
    return JSONResponse(
        {
            **(user_view(user) or {}),
            "username": user.username,
            "role": user.role,
            "team_id": user.team_id,
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
    user, visible = await caller(request)
    body = await json_body(request)
    inbox_id, to = body.get("inbox_id"), body.get("to")
    if not isinstance(inbox_id, int) or not isinstance(to, str):
        raise ApiError(422, "invalid", "inbox_id (a number) and to (a phone number) are required")
    number = to_e164(to)
    async with services(request).db.write() as session:
        inbox = await conversations.get_inbox(session, inbox_id, visible)
        conversation, created = await conversations.get_or_create_conversation(
            session, inbox, number
        )
        (view,) = await conversations.describe(session, [conversation], user.id)
    return JSONResponse(view, status_code=201 if created else 200)


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
