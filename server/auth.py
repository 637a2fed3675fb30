"""Who is calling: a bearer token (programs) or a session cookie (browsers; the session is in
the store, server/flows/sessions.py), and whether a browser's request comes from our own pages
(docs/security.md, "Cross-site requests")."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from inbox import accounts
from inbox.models import User
from server.errors import ApiError
from server.flows import sessions
from server.services import services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "switchboard_session"


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (behind a proxy: run uvicorn with --proxy-headers and
    --forwarded-allow-ips so this is the client's, docs/deploy.md)."""
    return conn.client.host if conn.client else ""


def session_key(conn: HTTPConnection) -> str | None:
    """The store's key of the request's session cookie, if it has one."""
    return sessions.key_of(services(conn), conn.cookies.get(SESSION_COOKIE))


def own_origins(conn: HTTPConnection) -> set[str]:
    """The origins this server answers as: the Host it was reached at, and the public URL."""
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    origins = {f"{scheme}://{conn.headers.get('host', '')}"}
    public = services(conn).settings.public_url
    if public:
        parts = urlsplit(public)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def request_origin(conn: HTTPConnection) -> str | None:
    """Where the browser says the request comes from: `Origin`, else the origin of `Referer`
    (None when it sent neither)."""
    origin = conn.headers.get("origin")
    if origin is not None:
        return origin
    referer = urlsplit(conn.headers.get("referer", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None


def same_origin(conn: HTTPConnection) -> bool:
    """A request from our own pages: it names our origin (naming none is refused)."""
    return request_origin(conn) in own_origins(conn)


def not_cross_site(conn: HTTPConnection) -> bool:
    """For `POST /login`, which no cookie authorises: refused only when it names another site
    (a browser always names the site of a cross-site form; a script may name none)."""
    origin = request_origin(conn)
    return origin is None or origin in own_origins(conn)


def require_same_origin(conn: HTTPConnection) -> None:
    if not same_origin(conn):
        raise ApiError(403, "bad_origin", "cross-site requests are refused")


async def current_user(conn: HTTPConnection) -> tuple[User | None, str]:
    """The caller and how they proved it ("token", "cookie", or "" for nobody)."""
    svc = services(conn)
    token = bearer_token(conn)
    if token is not None:  # guessing tokens is throttled per address, like passwords
        address = (svc.throttle.token, client_address(conn))
        await svc.throttle.check(address)
        async with svc.db.read() as session:
            user = await accounts.authenticate_token(session, token)
        if user is None:
            await svc.throttle.failed(address)
        return user, "token"
    key = session_key(conn)
    if key is not None:
        user = await sessions.user_of(svc, key)
        if user is not None:
            return user, "cookie"
    return None, ""


async def require_user(conn: HTTPConnection) -> User:
    user, how = await current_user(conn)
    if user is None:
        raise ApiError(401, "unauthenticated", "log in or send an Authorization: Bearer token")
    method = conn.scope.get("method", "GET")
    if how == "cookie" and method not in SAFE_METHODS:
        require_same_origin(conn)
    return user
