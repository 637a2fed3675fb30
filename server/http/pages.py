"""Browser pages: login, the inbox (at `/`, and at the addresses of an inbox, a conversation
and the Mentions view), the supervisor board, the settings area (admins), the account page
(everyone), the matters page (everyone), and the sandbox's phone simulator."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from inbox import accounts, messages
from inbox.inboxes import inbox_by_number, inbox_views, numbered_inboxes
from inbox.models import ADMIN_ROLES, SUPERVISING_ROLES, User
from inbox.phones import to_e164
from inbox.views import message_view
from server.auth import (
    SESSION_COOKIE,
    client_address,
    current_user,
    not_cross_site,
    require_same_origin,
    require_user,
    session_key,
)
from server.errors import ApiError
from server.flows import inbound, sessions
from server.http._helpers import json_body, logged_in, render
from server.services import services

# Where a login may send the browser on: the inbox page's own addresses only (never another
# site, so a crafted link cannot use our login to send someone elsewhere).
INBOX_ADDRESS = re.compile(r"/(?:inboxes/[0-9]{1,12}|conversations/[0-9]{1,12}|mentions)?")


def _next_page(raw: object) -> str:
    return raw if isinstance(raw, str) and INBOX_ADDRESS.fullmatch(raw) else "/"


def _to_login(request: Request) -> Response:
    path = request.url.path
    target = "/login" if path == "/" else f"/login?{urlencode({'next': path})}"
    return RedirectResponse(target, status_code=303)


async def login_page(request: Request) -> Response:
    async with services(request).db.read() as session:
        setup_needed = not await accounts.any_team(session)
    context = {
        "error": None,
        "username": "",
        "setup_needed": setup_needed,
        "next": _next_page(request.query_params.get("next")),
    }
    return render(request, "login.html", context)


async def login(request: Request) -> Response:
    if not not_cross_site(request):
        raise ApiError(403, "bad_origin", "cross-site requests are refused")
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_page = _next_page(form.get("next"))
    svc = services(request)
    throttle = svc.throttle
    subjects = ((throttle.user, username), (throttle.address, client_address(request)))
    try:
        await throttle.check(*subjects)
        async with svc.db.read() as session:
            user = await accounts.user_by_login(session, username)
        matches = await svc.passwords.verify(user.password_hash if user else None, password)
    except ApiError as exc:  # throttled, or too many logins at once
        return _login_refused(request, username, next_page, exc)
    if user is None or not matches or user.role == "bot":
        await throttle.failed(*subjects)
        context = {"error": "Wrong username or password.", "username": username, "next": next_page}
        return render(request, "login.html", context, status=401)
    if user.disabled_at is not None:  # said only to someone who knows the password
        context = {
            "error": "This account is disabled. Ask an admin.",
            "username": username,
            "next": next_page,
        }
        return render(request, "login.html", context, status=403)
    await throttle.forget(subjects[:1])
    return await logged_in(request, user, next_page)


async def logout(request: Request) -> Response:
    """End this browser's session: the cookie opens nothing any more, anywhere, and the
    session's sockets close (4401)."""
    require_same_origin(request)
    key = session_key(request)
    if key is not None:
        await sessions.end(services(request), key)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


def _login_refused(request: Request, username: str, next_page: str, exc: ApiError) -> Response:
    retry_ms = int(exc.extra.get("retry_after_ms", 1000))
    secs = max(1, -(-retry_ms // 1000))
    error = f"Too many attempts. Try again in {secs} s."
    context = {"error": error, "username": username, "next": next_page}
    response = render(request, "login.html", context, status=exc.status)
    response.headers["Retry-After"] = str(secs)
    return response


async def inbox_page(request: Request) -> Response:
    user, _ = await current_user(request)
    if user is None:
        return _to_login(request)
    async with services(request).db.read() as session:
        inboxes = await inbox_views(session, await accounts.visible_inboxes(session, user))
        teammates = await accounts.teammates(session, user.team_id)
    context = {"user": user, "inboxes": inboxes, "teammates": teammates}
    return render(request, "inbox.html", context)


async def _supervising_page(request: Request, template: str, what: str) -> Response:
    """A page for supervisors and admins: the login for nobody, a 403 page (saying `what`) for
    anyone else."""
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in SUPERVISING_ROLES:
        return render(request, "forbidden.html", {"user": user, "what": what}, status=403)
    return render(request, template, {"user": user})


async def board_page(request: Request) -> Response:
    """The supervisor board: live presence and locks, with force release."""
    what = "The supervisor board is for supervisors and admins."
    return await _supervising_page(request, "board.html", what)


async def reports_page(request: Request) -> Response:
    """Reports: figures per inbox or agent and day or week, charts, CSV."""
    return await _supervising_page(
        request, "reports.html", "Reports are for supervisors and admins."
    )


SETTINGS_SECTIONS = {"users": "People", "inboxes": "Inboxes", "tokens": "API tokens"}
SETTINGS_SECTIONS |= {"numbers": "Phone numbers", "registration": "Registration"}
SETTINGS_SECTIONS |= {"campaigns": "Campaigns", "allowance": "Allowance", "audit": "Audit log"}


async def settings_page(request: Request) -> Response:
    """The admins' settings area: people, inboxes, tokens and the audit log, one page each."""
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in ADMIN_ROLES:
        what = "Settings are for admins. Ask one if you need something changed."
        return render(request, "forbidden.html", {"user": user, "what": what}, status=403)
    section = request.path_params.get("section")
    if section not in SETTINGS_SECTIONS:
        return RedirectResponse("/settings/users", status_code=303)
    context = {"user": user, "section": section, "sections": SETTINGS_SECTIONS}
    return render(request, "settings.html", context)


async def account_page(request: Request) -> Response:
    """Everyone's own account: change the password, see and end their sessions."""
    user, _ = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "account.html", {"user": user})


async def matters_page(request: Request) -> Response:
    """The team's matters, and one matter's conversations (`/matters/{id}`): every member."""
    user, _ = await current_user(request)
    if user is None:
        return _to_login(request)
    context = {"user": user, "matter_id": request.path_params.get("matter_id")}
    return render(request, "matters.html", context)


async def to_settings(request: Request) -> Response:
    return RedirectResponse("/settings/users", status_code=303)


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
        inboxes = await inbox_views(session, await numbered_inboxes(session, user.team_id))
    return render(request, "simulator.html", {"user": user, "inboxes": inboxes})


async def simulator_send(request: Request) -> Response:
    """The customer's phone texts an inbox number."""
    user = await _simulator_user(request)
    body = await json_body(request)
    to, from_, text = body.get("to"), body.get("from"), body.get("body")
    if not all(isinstance(v, str) and v for v in (to, from_, text)):
        raise ApiError(422, "invalid", "to, from and body are required")
    svc = services(request)
    async with svc.db.read() as session:
        inbox = await inbox_by_number(session, to_e164(str(to)))
    if inbox is None or inbox.team_id != user.team_id:
        raise ApiError(404, "not_found", "no inbox of your team has that number")
    message = await inbound.receive(
        svc,
        to=str(to),
        from_=str(from_),
        body=str(text),
        provider_sid="SM" + uuid.uuid4().hex,
        callback_base=str(request.base_url),
    )
    return JSONResponse(message_view(message, None), status_code=201)


async def simulator_messages(request: Request) -> Response:
    """Everything the customer's phone has sent and received, oldest first."""
    user = await _simulator_user(request)
    phone = to_e164(request.query_params.get("phone", ""))
    async with services(request).db.read() as session:
        rows = await messages.with_number(session, user.team_id, phone)
    items = [{**message_view(m, None), "sender": None, "inbox_number": n} for m, n in rows]
    return JSONResponse({"items": items, "next": None})


routes = [
    Route("/", inbox_page),
    # The inbox page's own addresses (web/static/js/router.js reads them): a link opens them.
    Route("/inboxes/{inbox_id:int}", inbox_page),
    Route("/conversations/{conversation_id:int}", inbox_page),
    Route("/mentions", inbox_page),
    Route("/board", board_page),
    Route("/reports", reports_page),
    Route("/settings", settings_page),
    Route("/settings/{section}", settings_page),
    Route("/admin", to_settings),
    Route("/users", to_settings),
    Route("/account", account_page),
    Route("/matters", matters_page),
    Route("/matters/{matter_id:int}", matters_page),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/simulator", simulator_page),
    Route("/simulator/messages", simulator_messages, methods=["GET"]),
    Route("/simulator/messages", simulator_send, methods=["POST"]),
]
