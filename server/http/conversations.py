"""REST for conversations and their messages: the filtered list, starting one, the history,
sending (fenced, server/flows/sending.py), moving one to another inbox (out of the Mailroom,
mostly) and deleting one (admins, with the counterparty's number typed as confirmation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import contacts, conversations, deletion, mailroom, matters, messages
from inbox.models import ADMIN_ROLES, User
from inbox.phones import to_e164
from server.errors import ApiError
from server.flows import media
from server.flows.events import append_conversation_left, append_conversation_updated
from server.flows.sending import send_text
from server.http._helpers import (
    MAX_PAGE_SIZE,
    caller,
    json_body,
    page_limit,
    path_id,
    query_id,
    require_role,
)
from server.inputs import int_or_none, whole_number
from server.services import services


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
            tag=q.get("tag"),
            matter=q.get("matter"),
            cursor=q.get("cursor"),
            limit=page_limit(q.get("limit")),
        )
        # Additive field for the browser list: the newest message's text.
        previews = await messages.last_bodies(session, [item["id"] for item in items])
    for item in items:
        item["preview"] = previews.get(item["id"])
    return JSONResponse({"items": items, "next": cursor})


async def get_conversation(request: Request) -> JSONResponse:
    """One conversation (a link to it opens it in the browser)."""
    user, visible = await caller(request)
    async with services(request).db.read() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        (view,) = await conversations.describe(session, [conversation], user.id)
    return JSONResponse(view)


MAX_IDS = 200  # names for a board's worth of conversations in one call


async def conversations_by_id(request: Request) -> JSONResponse:
    """`?ids=1,2,3`: the views of those conversations the caller may see (the others are left
    out, as if they did not exist), for the supervisor board's names."""
    user, visible = await caller(request)
    raw = [part.strip() for part in request.query_params.get("ids", "").split(",")]
    ids = [whole_number(part) for part in raw]
    if not 1 <= len(ids) <= MAX_IDS or any(i is None for i in ids):
        raise ApiError(422, "invalid", f"ids is a comma-separated list of 1 to {MAX_IDS} ids")
    async with services(request).db.read() as session:
        wanted = [i for i in ids if i is not None]
        items = await conversations.describe_ids(session, wanted, visible, user.id)
    return JSONResponse({"items": items, "next": None})


async def start_conversation(request: Request) -> JSONResponse:
    """`{inbox_id, to}` or `{inbox_id, contact_id}`, and `matter_id` to file it under: the
    conversation with that number, made (201, published) when there is none yet, else the
    existing one (200)."""
    user, visible = await caller(request)
    body = await json_body(request)
    inbox_id = int_or_none(body.get("inbox_id"))
    if inbox_id is None:
        raise ApiError(422, "invalid", "inbox_id (a number) and to (a phone number) are required")
    svc = services(request)
    async with svc.db.write() as session:
        inbox = await conversations.get_inbox(session, inbox_id, visible)
        number = await _start_number(session, user, body.get("to"), body.get("contact_id"))
        if inbox.phone_number is None:
            raise ApiError(409, "no_number", "this inbox has no number to text from")
        if number == inbox.phone_number:
            raise ApiError(422, "invalid_number", "an inbox cannot text its own number")
        matter = None
        if body.get("matter_id") is not None:
            matter_id = int_or_none(body["matter_id"])
            if matter_id is None:
                raise ApiError(422, "invalid", "matter_id must be a matter's id")
            matter = await matters.get_matter(session, user.team_id, matter_id)
        conversation, created = await conversations.get_or_create_conversation(
            session, inbox, number
        )
        filed = matter is not None and await matters.file_conversation(
            session, conversation, matter
        )
        changed = created or filed
        event = await append_conversation_updated(session, conversation) if changed else None
        (view,) = await conversations.describe(session, [conversation], user.id)
    await svc.announce(event)
    return JSONResponse(view, status_code=201 if created else 200)


async def _start_number(session: AsyncSession, user: User, to: Any, contact_id: Any) -> str:
    if isinstance(to, str):
        return to_e164(to)
    if int_or_none(contact_id) is not None:
        contact = await contacts.get_contact(session, user.team_id, contact_id)
        assert contact.id is not None
        numbers = (await contacts.numbers_of(session, [contact.id]))[contact.id]
        if numbers:
            return numbers[0]
    raise ApiError(422, "invalid", "to (a phone number) or contact_id is required")


async def list_messages(request: Request) -> JSONResponse:
    """History oldest first, private notes among the texts; `?before=<id>&limit=N` pages
    back (`next` is the `before` of the page before this one)."""
    user, visible = await caller(request)
    before = query_id(request, "before")
    limit = request.query_params.get("limit")
    async with services(request).db.read() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        items, next_before = await messages.list_messages(
            session,
            conversation,
            before=before,
            limit=MAX_PAGE_SIZE if limit is None else page_limit(limit),
        )
    return JSONResponse({"items": items, "next": next_before})


async def send_message(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    body = await json_body(request)
    sent = await send_text(
        services(request),
        user,
        path_id(request, "conversation_id"),
        visible,
        body.get("body"),
        callback_base=str(request.base_url),
        seen_message_id=int_or_none(body.get("seen_message_id")),
        media_ids=body.get("media_ids"),
    )
    return JSONResponse({**sent.message, "unseen_messages": sent.unseen_messages}, status_code=201)


async def move_conversation(request: Request) -> JSONResponse:
    """`{inbox_id}`: the caller must be a member of both inboxes. Members of the old inbox are
    told it left (`conversation.deleted`), members of the new one see it arrive."""
    user, visible = await caller(request)
    target_id = int_or_none((await json_body(request)).get("inbox_id"))
    if target_id is None:
        raise ApiError(422, "invalid", "inbox_id (a number) is required")
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        target = await conversations.get_inbox(session, target_id, visible)
        gone = await append_conversation_left(session, conversation)
        moved = await mailroom.move_conversation(session, conversation, target)
        arrived = await append_conversation_updated(session, moved)
        (view,) = await conversations.describe(session, [moved], user.id)
    await svc.announce(gone, arrived)
    return JSONResponse(view)


async def delete_conversation(request: Request) -> Response:
    """Body `{"confirm": "<the counterparty's number>"}`; removes every message, for good."""
    user, visible = await caller(request)
    require_role(user, ADMIN_ROLES)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        deletion.check_confirmation(conversation, body.get("confirm"))
        event = await append_conversation_left(session, conversation, erase=True)
        files = await deletion.delete_conversation(session, conversation)
    await svc.announce(event)
    await media.delete_files(svc, files)
    return Response(status_code=204)


routes = [
    Route("/inboxes/{inbox_id}/conversations", list_conversations),
    Route("/conversations", conversations_by_id, methods=["GET"]),
    Route("/conversations", start_conversation, methods=["POST"]),
    Route("/conversations/{conversation_id}", get_conversation, methods=["GET"]),
    Route("/conversations/{conversation_id}", delete_conversation, methods=["DELETE"]),
    Route("/conversations/{conversation_id}/messages", list_messages, methods=["GET"]),
    Route("/conversations/{conversation_id}/messages", send_message, methods=["POST"]),
    Route("/conversations/{conversation_id}/move", move_conversation, methods=["POST"]),
]
