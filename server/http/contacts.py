"""REST for contacts: create, import, list, read and update (rename, replace numbers, notes),
and a contact's conversations. Any
member of the team may manage its contacts; conversations that change with a contact are
published as `conversation.updated`."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import contacts, conversations
from inbox.errors import InboxError
from server.auth import require_user
from server.errors import ApiError, status_of
from server.flows.events import append_conversations_updated
from server.http._helpers import caller, json_body, page_limit, path_id, query_id
from server.services import services

# Contacts written per transaction on import: short write locks, so webhooks are not held up.
IMPORT_BATCH = 100
MAX_IMPORT = 5000  # a spreadsheet's worth; bigger lists go in several calls


async def create_contact(request: Request) -> JSONResponse:
    user = await require_user(request)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        contact, numbers, changed = await contacts.create_contact(
            session, user.team_id, body.get("name"), body.get("numbers"), body.get("notes")
        )
        events = await append_conversations_updated(session, changed)
    await svc.announce(*events)
    return JSONResponse(contacts.contact_view(contact, numbers), status_code=201)


async def import_contacts(request: Request) -> JSONResponse:
    """Many contacts at once: one result per item, in order; a bad item spoils no other."""
    user = await require_user(request)
    items = (await json_body(request)).get("items")
    if not isinstance(items, list) or len(items) > MAX_IMPORT:
        raise ApiError(422, "invalid", f"items is a list of at most {MAX_IMPORT} contacts")
    svc = services(request)
    results: list[dict[str, Any]] = []
    for start in range(0, len(items), IMPORT_BATCH):
        events = []
        async with svc.db.write() as session:
            for item in items[start : start + IMPORT_BATCH]:
                item = item if isinstance(item, dict) else {}
                try:
                    async with session.begin_nested():
                        contact, numbers, changed = await contacts.create_contact(
                            session, user.team_id, item.get("name"), item.get("numbers")
                        )
                        events += await append_conversations_updated(session, changed)
                    results.append(contacts.contact_view(contact, numbers))
                except InboxError as exc:
                    error = {"code": exc.code, "message": exc.message, "status": status_of(exc)}
                    results.append({"error": error})
        await svc.announce(*events)
        await asyncio.sleep(0)  # let other requests run between batches
    return JSONResponse({"items": results})


async def list_contacts(request: Request) -> JSONResponse:
    user = await require_user(request)
    after = query_id(request, "cursor")
    async with services(request).db.read() as session:
        items, next_id = await contacts.list_contacts(
            session,
            user.team_id,
            request.query_params.get("q"),
            after,
            page_limit(request.query_params.get("limit")),
        )
    return JSONResponse({"items": items, "next": str(next_id) if next_id else None})


async def get_contact(request: Request) -> JSONResponse:
    user = await require_user(request)
    async with services(request).db.read() as session:
        contact = await contacts.get_contact(session, user.team_id, path_id(request, "contact_id"))
        assert contact.id is not None
        numbers = await contacts.numbers_of(session, [contact.id])
        also = await contacts.sharing(session, contact)
    return JSONResponse(contacts.contact_view(contact, numbers[contact.id]) | {"also": also})


async def update_contact(request: Request) -> JSONResponse:
    """PUT/PATCH `{name?, numbers?, notes?}`: `numbers` replaces the whole list."""
    user = await require_user(request)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        contact = await contacts.get_contact(session, user.team_id, path_id(request, "contact_id"))
        numbers, changed = await contacts.update_contact(
            session, contact, body.get("name"), body.get("numbers"), body.get("notes")
        )
        events = await append_conversations_updated(session, changed)
    await svc.announce(*events)
    return JSONResponse(contacts.contact_view(contact, numbers))


async def contact_conversations(request: Request) -> JSONResponse:
    """The contact's conversations in the caller's inboxes, newest activity first (the contact
    panel's "other conversations")."""
    user, visible = await caller(request)
    async with services(request).db.read() as session:
        contact = await contacts.get_contact(session, user.team_id, path_id(request, "contact_id"))
        found = await contacts.conversations_of(session, contact, visible)
        items = await conversations.describe(session, found, user.id)
    return JSONResponse({"items": items, "next": None})


routes = [
    Route("/contacts", list_contacts, methods=["GET"]),
    Route("/contacts", create_contact, methods=["POST"]),
    Route("/contacts/import", import_contacts, methods=["POST"]),
    Route("/contacts/{contact_id}", get_contact, methods=["GET"]),
    Route("/contacts/{contact_id}", update_contact, methods=["PUT", "PATCH"]),
    Route("/contacts/{contact_id}/conversations", contact_conversations, methods=["GET"]),
]
