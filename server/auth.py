"""Who is calling: a bearer token (programs) or the signed session cookie (browsers)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from inbox import accounts
from inbox.models import User
from server.errors import ApiError
from server.services import services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def own_origins(conn: HTTPConnection) -> set[str]:
    """The origins this server answers as: the Host it was reached at, and the public URL."""
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    origins = {f"{scheme}://{conn.headers.get('host', '')}"}
    public = services(conn).settings.public_url
    if public:
        parts = urlsplit(public)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def origin_allowed(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    return origin is None or origin in own_origins(conn)


async def current_user(conn: HTTPConnection) -> tuple[User | None, str]:
    """The caller and how they proved it ("token", "cookie", or "" for nobody)."""
    db = services(conn).db
    token = bearer_token(conn)
    if token is not None:
        async with db.read() as session:
            return await accounts.authenticate_token(session, token), "token"
    user_id = conn.session.get("uid")
    if isinstance(user_id, int):
        async with db.read() as session:
            user = await session.get(User, user_id)
        if user is not None:
            return user, "cookie"
    return None, ""


async def require_user(conn: HTTPConnection) -> User:
    user, how = await current_user(conn)
    if user is None:
        raise ApiError(401, "unauthenticated", "log in or send an Authorization: Bearer token")
    method = conn.scope.get("method", "GET")
    if how == "cookie" and method not in SAFE_METHODS and not origin_allowed(conn):
        raise ApiError(403, "bad_origin", "cross-site requests are refused")
    return user
