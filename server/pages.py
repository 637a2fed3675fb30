"""Browser pages: login, the inbox, and the sandbox's phone simulator."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from inbox import accounts, messages
from inbox.models import Conversation, Inbox, Message, User
from inbox.phones import to_e164
from inbox.views import inbox_view, message_view
from server.api import json_body
from server.auth import current_user, require_user
from server.errors import ApiError
from server.state import services


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return services(request).templates.TemplateResponse(request, name, context, status_code=status)


async def login_page(request: Request) -> Response:
    return _render(request, "login.html", {"error": None, "username": ""})


async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    async with services(request).db.read() as session:
        user = await accounts.authenticate_password(session, username, password)
    if user is None or user.role == "bot":
        context = {"error": "Wrong username or password.", "username": username}
        return _render(request, "login.html", context, status=401)
    request.session.clear()
    request.session["uid"] = user.id
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def inbox_page(request: Request) -> Response:
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    async with services(request).db.read() as session:
        visible = await accounts.visible_inbox_ids(session, user)
        rows = await session.scalars(
            select(Inbox).where(col(Inbox.id).in_(visible)).order_by(col(Inbox.name))
        )
        inboxes = [inbox_view(i) for i in rows]
        teammates = await _teammates(session, user)
    context = {"user": user, "inboxes": inboxes, "teammates": teammates}
    return _render(request, "inbox.html", context)


BOARD_ROLES = ("supervisor", "admin")


async def _teammates(session: AsyncSession, user: User) -> list[User]:
    """People of the caller's team a conversation can be assigned to (bots excluded)."""
    rows = await session.scalars(
        select(User)
        .where(col(User.team_id) == user.team_id, col(User.role) != "bot")
        .order_by(col(User.name))
    )
    return list(rows)


async def board_page(request: Request) -> Response:
    """The supervisor board: live presence and locks, with force release."""
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in BOARD_ROLES:
        return _render(request, "forbidden.html", {"user": user}, status=403)
    return _render(request, "board.html", {"user": user})


def _require_sandbox(request: Request) -> None:
    if services(request).settings.sms_provider != "sandbox":
        raise ApiError(
            404, "not_found", "the phone simulator exists only with the sandbox provider"
        )


async def _simulator_user(request: Request) -> User:
    _require_sandbox(request)
    return await require_user(request)


async def simulator_page(request: Request) -> Response:
    _require_sandbox(request)
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    async with services(request).db.read() as session:
        rows = await session.scalars(
            select(Inbox).where(
                col(Inbox.team_id) == user.team_id, col(Inbox.phone_number).is_not(None)
            )
        )
        inboxes = [inbox_view(i) for i in rows]
    return _render(request, "simulator.html", {"user": user, "inboxes": inboxes})


async def simulator_send(request: Request) -> Response:
    """The customer's phone texts an inbox number."""
    user = await _simulator_user(request)
    body = await json_body(request)
    to, from_, text = body.get("to"), body.get("from"), body.get("body")
    if not all(isinstance(v, str) and v for v in (to, from_, text)):
        raise ApiError(422, "invalid", "to, from and body are required")
    svc = services(request)
    async with svc.db.write() as session:
        inbox = await session.scalar(
            select(Inbox).where(col(Inbox.phone_number) == to_e164(str(to)))
        )
        if inbox is None or inbox.team_id != user.team_id:
            raise ApiError(404, "not_found", "no inbox of your team has that number")
        stored = await messages.receive_inbound(
            session,
            to=str(to),
            from_=str(from_),
            body=str(text),
            provider_sid="SM" + uuid.uuid4().hex,
        )
    await svc.announce(stored.event)
    return JSONResponse(message_view(stored.message, None), status_code=201)


async def simulator_messages(request: Request) -> Response:
    """Everything the customer's phone has sent and received, oldest first."""
    user = await _simulator_user(request)
    phone = to_e164(request.query_params.get("phone", ""))
    async with services(request).db.read() as session:
        rows = await session.execute(
            select(Message, col(Inbox.phone_number))
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .join(Inbox, col(Inbox.id) == col(Message.inbox_id))
            .where(col(Conversation.counterparty) == phone, col(Message.team_id) == user.team_id)
            .order_by(col(Message.id))
        )
        items = [
            {**message_view(m, None), "sender": None, "inbox_number": number} for m, number in rows
        ]
    return JSONResponse({"items": items, "next": None})
