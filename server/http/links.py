"""The pages behind one-time links (inbox/links.py): `/setup/{secret}`, the first run's page
that makes the team and its first admin (server/flows/setup.py), and `/password/{secret}`,
where an invited user sets their password (or anyone an admin gave a reset link). Both log the
user in once done. A used or expired link answers 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox.errors import InvalidInputError
from server.auth import not_cross_site
from server.errors import ApiError
from server.flows import setup, users
from server.http._helpers import logged_in, render
from server.passwords import check_password
from server.services import services

GONE = "This link was used already, or it has expired. Ask for a new one."


def _gone(request: Request) -> Response:
    return render(request, "link_gone.html", {"user": None, "message": GONE}, status=404)


def _secret(request: Request) -> str:
    return str(request.path_params["secret"])


async def setup_page(request: Request) -> Response:
    if not await setup.setup_open(services(request), _secret(request)):
        return _gone(request)
    return render(request, "setup.html", {"user": None, "error": None, "form": {}})


async def setup_submit(request: Request) -> Response:
    if not not_cross_site(request):
        raise ApiError(403, "bad_origin", "cross-site requests are refused")
    form = {k: str(v) for k, v in (await request.form()).items() if k != "password"}
    password = str((await request.form()).get("password", ""))
    try:
        check_password(password)
        user = await setup.complete_setup(
            services(request),
            _secret(request),
            form.get("team", ""),
            form.get("username", ""),
            form.get("name", ""),
            password,
        )
    except (ApiError, InvalidInputError) as exc:
        context = {"user": None, "error": exc.message, "form": form}
        return render(request, "setup.html", context, status=422)
    if user is None:
        return _gone(request)
    return await logged_in(request, user, "/settings/inboxes")


async def password_page(request: Request) -> Response:
    user = await users.link_user(services(request), _secret(request))
    if user is None:
        return _gone(request)
    return render(request, "set_password.html", {"user": None, "who": user, "error": None})


async def password_submit(request: Request) -> Response:
    if not not_cross_site(request):
        raise ApiError(403, "bad_origin", "cross-site requests are refused")
    svc, secret = services(request), _secret(request)
    who = await users.link_user(svc, secret)
    if who is None:
        return _gone(request)
    form = await request.form()
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    try:
        check_password(password)
        if password != again:
            raise ApiError(422, "mismatch", "the two passwords differ")
    except ApiError as exc:
        context = {"user": None, "who": who, "error": exc.message}
        return render(request, "set_password.html", context, status=422)
    user = await users.set_password_by_link(svc, secret, password)
    if user is None:
        return _gone(request)
    return await logged_in(request, user, "/")


routes = [
    Route("/setup/{secret}", setup_page, methods=["GET"]),
    Route("/setup/{secret}", setup_submit, methods=["POST"]),
    Route("/password/{secret}", password_page, methods=["GET"]),
    Route("/password/{secret}", password_submit, methods=["POST"]),
]
