"""Twilio's wire format, as the `twilio` library parses it: error bodies, the two list-page
shapes (2010-04-01's `*_page_uri` fields, v1's `meta`), the two date formats, sids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DEFAULT_PAGE_SIZE = 50  # Twilio's
NOT_FOUND = 20404
MISSING_PARAMETER = 21605  # a code of the fake's choosing for a missing field


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex  # two letters and 32 hex digits


def now() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime | None) -> str | None:
    """2010-04-01's dates: 'Fri, 24 May 2019 17:44:46 +0000'."""
    return format_datetime(moment.astimezone(UTC), usegmt=True) if moment else None


def iso8601(moment: datetime | None) -> str | None:
    """v1's dates: '2021-01-28T10:45:51Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def is_true(value: object) -> bool:
    return str(value).lower() == "true"


def error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def not_found(request: Request) -> Response:
    return error(404, NOT_FOUND, f"The requested resource {request.url.path} was not found")


def require(form: FormData, *names: str) -> Response | None:
    """A 400 for the first of `names` the form lacks, or None."""
    absent = [n for n in names if not form.get(n)]
    if absent:
        return error(400, MISSING_PARAMETER, f"Missing required parameter {absent[0]}")
    return None


def stamps() -> dict[str, Any]:
    """A v1 resource's creation and update times, both now."""
    moment = iso8601(now())
    return {"date_created": moment, "date_updated": moment}


def _paging(request: Request) -> tuple[int, int]:
    page = int(request.query_params.get("Page", "0"))
    size = int(request.query_params.get("PageSize", str(DEFAULT_PAGE_SIZE)))
    return page, size


def _link(request: Request, page: int, size: int, base: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING]
    query += [("PageSize", str(size)), ("Page", str(page))]
    if page:
        query.append(("PageToken", f"PT{page}"))
    return f"{base}{request.url.path}?{urlencode(query)}"


_PAGING = {"Page", "PageSize", "PageToken"}


def page_2010(request: Request, key: str, items: list[dict[str, Any]]) -> JSONResponse:
    """A 2010-04-01 list page: relative `next_page_uri`, which the library puts on its own
    base URL (https://api.twilio.com), so following it goes through the host rewrite."""
    page, size = _paging(request)
    chunk = items[page * size : (page + 1) * size]
    more = (page + 1) * size < len(items)
    return JSONResponse(
        {
            key: chunk,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
            "page": page,
            "page_size": size,
            "uri": _link(request, page, size, ""),
            "first_page_uri": _link(request, 0, size, ""),
            "previous_page_uri": _link(request, page - 1, size, "") if page else None,
            "next_page_uri": _link(request, page + 1, size, "") if more else None,
        }
    )


def page_v1(request: Request, host: str, key: str, items: list[dict[str, Any]]) -> JSONResponse:
    """A v1 list page: absolute URLs on Twilio's own host (messaging., trusthub.)."""
    page, size = _paging(request)
    chunk = items[page * size : (page + 1) * size]
    more = (page + 1) * size < len(items)
    base = f"https://{host}"
    return JSONResponse(
        {
            key: chunk,
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": _link(request, 0, size, base),
                "previous_page_url": _link(request, page - 1, size, base) if page else None,
                "next_page_url": _link(request, page + 1, size, base) if more else None,
                "url": _link(request, page, size, base),
                "key": key,
            },
        }
    )
