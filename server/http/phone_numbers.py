"""REST for the team's phone numbers (admins; DESIGN.md, "Phone numbers"): search what is for
sale, buy, label and assign, release with the typed confirmation, replace an inbox's number,
add one to the registered campaign, and the numbers table of seed 002 (sort, filter, search,
CSV, pages)."""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import numbers
from inbox.models import NUMBER_TYPES
from inbox.phones import to_e164
from inbox.providers._helpers import check_area_code
from server.errors import ApiError
from server.flows import numbers as flows
from server.http._helpers import (
    json_body,
    page_limit,
    path_id,
    query_id,
    require_admin,
)
from server.inputs import int_or_none
from server.services import services

CONFIRMATION = "DELETE"  # what the admin types to release a number (seed 000's modal)
FILTERS = ("inbox_id", "agent_id", "type", "number_type", "registration")


def _area_code(raw: Any, required: bool = True) -> str | None:
    if raw in (None, "") and not required:
        return None
    if not isinstance(raw, str):
        raise ApiError(422, "invalid_area_code", "area_code is three digits, like 415")
    return check_area_code(raw)


def _optional_id(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if int_or_none(value) is None:
        raise ApiError(422, "invalid", f"{key} must be an id or null")
    return int(value)


async def available(request: Request) -> JSONResponse:
    """`?area_code=&contains=`: numbers for sale now; an area code with none: an empty list."""
    await require_admin(request)
    query = request.query_params
    contains = query.get("contains") or None
    if contains is not None and (len(contains) > 10 or not contains.replace("*", "").isalnum()):
        raise ApiError(422, "invalid", "contains is up to 10 digits, letters or *")
    found = await flows.search(services(request), _area_code(query.get("area_code")), contains)
    items = [
        {"phone_number": n.phone_number, "locality": n.locality, "region": n.region} for n in found
    ]
    return JSONResponse({"items": items, "next": None})


async def buy(request: Request) -> JSONResponse:
    """`{phone_number}` or `{area_code, contains?, any_us?}` (`any_us`: none there, any US
    number instead), plus `{name, description, inbox_id?, agent_id?}`."""
    admin = await require_admin(request)
    body = await json_body(request)
    raw = body.get("phone_number")
    if raw is not None and not isinstance(raw, str):
        raise ApiError(422, "invalid_number", "phone_number is a phone number")
    if (raw is None) == (body.get("area_code") in (None, "")):
        raise ApiError(422, "invalid", "give a phone_number or an area_code (one of them)")
    wanted = flows.Wanted(
        phone_number=to_e164(raw) if raw is not None else None,
        area_code=_area_code(body.get("area_code"), required=False),
        contains=body.get("contains") or None,
        name=numbers.check_name(body.get("name", "")),
        description=numbers.check_description(body.get("description", "")),
        inbox_id=_optional_id(body, "inbox_id"),
        agent_id=_optional_id(body, "agent_id"),
        any_us=body.get("any_us") is True,
    )
    view = await flows.buy(services(request), admin, wanted, str(request.base_url))
    return JSONResponse(view, status_code=201)


async def patch(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await json_body(request)
    given: dict[str, Any] = {
        k: body[k] for k in ("name", "description", "number_type") if k in body
    }
    for key in ("inbox_id", "agent_id"):
        if key in body:
            given[key] = _optional_id(body, key)
    view = await flows.update(services(request), admin, path_id(request, "number_id"), given)
    return JSONResponse(view)


async def release(request: Request) -> JSONResponse:
    """`{"confirm": "DELETE"}`: released at the carrier; without the confirmation, 422."""
    admin = await require_admin(request)
    body = await json_body(request)
    if body.get("confirm") != CONFIRMATION:
        raise ApiError(
            422, "confirmation_required", f'type {CONFIRMATION} to release the number: "confirm"'
        )
    view = await flows.release(
        services(request), admin, admin.team_id, path_id(request, "number_id")
    )
    return JSONResponse(view)


async def register(request: Request) -> JSONResponse:
    """The "+ Register number" button: put an older number in the team's registered campaign."""
    admin = await require_admin(request)
    view = await flows.add_to_campaign(
        services(request), admin, admin.team_id, path_id(request, "number_id")
    )
    return JSONResponse(view)


async def replace(request: Request) -> JSONResponse:
    """`{area_code?}`: a new number for the inbox (seed 001), at most once a month."""
    admin = await require_admin(request)
    body = await json_body(request)
    view = await flows.replace(
        services(request),
        admin,
        path_id(request, "inbox_id"),
        _area_code(body.get("area_code"), required=False),
        str(request.base_url),
    )
    return JSONResponse(view, status_code=201)


def _matches(view: dict[str, Any], q: str, filters: dict[str, str]) -> bool:
    if q:
        campaign = view["active_campaign"]["name"] if view["active_campaign"] else ""
        digits = "".join(c for c in q if c.isdigit())
        words = (view["name"], campaign, view["phone_number"])
        found = any(q.lower() in w.lower() for w in words)
        if not found and not (digits and digits in view["phone_number"]):
            return False
    for key, wanted in filters.items():
        if key in ("inbox_id", "agent_id"):
            ref = view[key.removesuffix("_id")]
            value = "none" if ref is None else str(ref["id"])
        else:
            value = str(view[key])
        if value != wanted:
            return False
    return True


def _sort_key(column: str) -> Any:
    def key(view: dict[str, Any]) -> tuple[bool, str]:
        cell = numbers.csv_cell(view, column)
        return (cell == "", cell.lower())  # empty cells last either way

    return key


async def table(request: Request) -> Response:
    """The numbers table: `q` (number, name or campaign), filters, `sort` (any column) and
    `order`, `released=1` to include released numbers, pages (`cursor`, `limit`), and
    `format=csv` for the whole filtered view."""
    admin = await require_admin(request)
    query = request.query_params
    sort, order = query.get("sort") or "phone_number", query.get("order") or "asc"
    if sort not in numbers.COLUMNS:
        raise ApiError(422, "invalid", f"sort is one of {', '.join(numbers.COLUMNS)}")
    if order not in ("asc", "desc"):
        raise ApiError(422, "invalid", "order is asc or desc")
    filters = {k: query[k] for k in FILTERS if query.get(k)}
    if filters.get("number_type", NUMBER_TYPES[0]) not in NUMBER_TYPES:
        raise ApiError(422, "invalid", f"number_type is one of {', '.join(NUMBER_TYPES)}")
    svc = services(request)
    async with svc.db.read() as session:
        rows = await numbers.team_numbers(session, admin.team_id)
        if query.get("released") in (None, "", "0"):
            rows = [n for n in rows if n.released_at is None]
        views = await numbers.number_views(
            session, rows, svc.settings.number_lifetimes, svc.settings.clock()
        )
    views = [v for v in views if _matches(v, query.get("q", "").strip(), filters)]
    views.sort(key=lambda v: v["phone_number"])
    blanks = [v for v in views if numbers.csv_cell(v, sort) == ""]
    filled = sorted(
        (v for v in views if numbers.csv_cell(v, sort) != ""),
        key=_sort_key(sort),
        reverse=order == "desc",
    )
    views = filled + blanks
    if query.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(numbers.COLUMNS)
        for view in views:
            writer.writerow([_safe(numbers.csv_cell(view, c)) for c in numbers.COLUMNS])
        headers = {"content-disposition": 'attachment; filename="phone-numbers.csv"'}
        return Response(out.getvalue(), media_type="text/csv", headers=headers)
    start = query_id(request, "cursor") or 0
    limit = page_limit(query.get("limit"))
    page = views[start : start + limit]
    more = start + limit < len(views)
    return JSONResponse(
        {"items": page, "total": len(views), "next": start + limit if more else None}
    )


def _safe(cell: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @: such a name is quoted as text."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") and not cell[1:2].isdigit() else cell


routes = [
    Route("/phone-numbers", table, methods=["GET"]),
    Route("/phone-numbers", buy, methods=["POST"]),
    Route("/phone-numbers/available", available, methods=["GET"]),
    Route("/phone-numbers/{number_id}", patch, methods=["PATCH"]),
    Route("/phone-numbers/{number_id}", release, methods=["DELETE"]),
    Route("/phone-numbers/{number_id}/register", register, methods=["POST"]),
    Route("/inboxes/{inbox_id}/replace-number", replace, methods=["POST"]),
]
