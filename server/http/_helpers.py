"""What every REST route and page does first: read the body, the path and the caller, and
check the caller's role."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from inbox import accounts, conversations
from inbox.models import ADMIN_ROLES, User
from server.auth import SESSION_COOKIE, client_address, require_user, session_key
from server.errors import ApiError
from server.flows import sessions
from server.inputs import check_text, load_json, whole_number
from server.services import services

MAX_PAGE_SIZE = 200  # a page a browser renders at once without stalling


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (an empty body is `{}`): 400 when it is not JSON, 422 when it
    is JSON of another shape or holds a string that is not text (the field is named). Its size
    was bounded before it was read (server/http/limits.py)."""
    try:
        body = load_json(await request.body() or b"{}")
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "the request body is not JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the request body must be a JSON object")
    check_text(body)
    return body


def path_id(request: Request, name: str) -> int:
    value = whole_number(str(request.path_params[name]))
    if value is None:
        raise ApiError(404, "not_found", f"{name} must be a number")
    return value


def query_id(request: Request, name: str) -> int | None:
    """An optional numeric query parameter (a cursor, say): 422 when present but not a number."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    value = whole_number(raw)
    if value is None:
        raise ApiError(422, "invalid", f"{name} must be a whole number")
    return value


def page_limit(raw: str | None) -> int:
    if raw is None:
        return conversations.PAGE_SIZE
    value = whole_number(raw)
    if value is None or not 1 <= value <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid", f"limit must be 1 to {MAX_PAGE_SIZE}")
    return value


async def caller(request: Request) -> tuple[User, set[int]]:
    """The authenticated caller and the inboxes they may see."""
    user = await require_user(request)
    async with services(request).db.read() as session:
        return user, await accounts.visible_inbox_ids(session, user)


def require_role(user: User, roles: Collection[str]) -> None:
    if user.role not in roles:
        who = " or ".join(f"{r}s" for r in sorted(roles))
        raise ApiError(403, "forbidden", f"only {who} may do this")


async def require_admin(request: Request) -> User:
    """The authenticated caller, who must be an admin (403 otherwise)."""
    user = await require_user(request)
    require_role(user, ADMIN_ROLES)
    return user


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return services(request).templates.TemplateResponse(request, name, context, status_code=status)


def link_url(request: Request, kind: str, secret: str) -> str:
    """The full address of a one-time link (`/setup/...`, `/password/...`) to hand to someone:
    on the public URL when one is set, else where the request came to."""
    base = services(request).settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/{kind}/{secret}"


async def logged_in(request: Request, user: User, to: str) -> Response:
    """Start a session for `user` in this browser (ending any it brought: no fixation) and send
    it on to `to`."""
    svc = services(request)
    old = session_key(request)
    if old is not None:
        await sessions.end(svc, old)
    cookie = await sessions.start(
        svc, user, client_address(request), request.headers.get("user-agent", "")
    )
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(svc.settings.session_max_days * 86400),
        httponly=True,
        samesite="lax",
        secure=bool(svc.settings.public_url and svc.settings.public_url.startswith("https")),
    )
    return response
