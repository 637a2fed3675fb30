"""What every REST route and page does first: read the body, the path and the caller, and
check the caller's role."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from inbox import accounts, conversations
from inbox.models import User
from server.auth import require_user
from server.errors import ApiError
from server.services import services

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
    """The authenticated caller and the inboxes they may see."""
    user = await require_user(request)
    async with services(request).db.read() as session:
        return user, await accounts.visible_inbox_ids(session, user)


def require_role(user: User, roles: Collection[str]) -> None:
    if user.role not in roles:
        who = " or ".join(f"{r}s" for r in sorted(roles))
        raise ApiError(403, "forbidden", f"only {who} may do this")


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return services(request).templates.TemplateResponse(request, name, context, status_code=status)
