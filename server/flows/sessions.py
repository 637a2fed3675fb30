"""Browser sessions (docs/security.md, "Sessions"): made at login, found on every cookie
request, ended by logout, a password change or disabling the user, and then their sockets are
closed on every process (server/sockets.py). The cookie holds a random value; the store keeps
its HMAC under the secret key. Every process sweeps its own sockets' sessions and tokens: an
open tab keeps its session in use, and a socket whose session ended or lapsed, or whose token
was revoked or expired (or its user disabled), is closed even if the Redis message that should
have closed it was lost."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from inbox import accounts, sessions
from inbox.models import LoginSession, User, utcnow
from inbox.sessions import Lifetimes
from server.services import Services
from server.sockets import SocketRegistry

logger = logging.getLogger(__name__)

COOKIE_BYTES = 32  # 256 random bits: never guessed
MAX_COOKIE_CHARS = 100  # what we hand out is 43; anything longer is not ours
# `seen_at` is written at most this often: a session's idle lifetime is days, so a minute late
# is nothing, and a busy user's requests are not each a write.
TOUCH_EVERY_SECS = 60.0
SESSION_SWEEP_SECS = 5.0  # a socket whose session ended is closed at most this late


def lifetimes(svc: Services) -> Lifetimes:
    s = svc.settings
    idle = timedelta(days=s.session_idle_days)
    return Lifetimes(idle, timedelta(days=s.session_max_days), min(idle / 10, _TOUCH))


_TOUCH = timedelta(seconds=TOUCH_EVERY_SECS)


def key_of(svc: Services, cookie: str | None) -> str | None:
    """The store's key of a session cookie's value (None for no cookie, or not one of ours)."""
    if not cookie or len(cookie) > MAX_COOKIE_CHARS:
        return None
    secret = str(svc.settings.secret_key).encode()
    return hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()


def credential(key: str) -> str:
    """How the socket registry names a session's sockets."""
    return f"s:{key}"


def token_credential(token_hash: str) -> str:
    """How the socket registry names a token's sockets (by its stored hash)."""
    return f"t:{token_hash}"


async def start(svc: Services, user: User, address: str, user_agent: str) -> str:
    """A new session for the user; the cookie value, which is the only copy."""
    assert user.id is not None
    cookie = secrets.token_urlsafe(COOKIE_BYTES)
    key = key_of(svc, cookie)
    assert key is not None
    async with svc.db.write() as session:
        await sessions.create_session(session, key, user.id, address, user_agent, utcnow())
    return cookie


async def user_of(svc: Services, key: str) -> User | None:
    """The user of a live session (and the session marked used), or None."""
    now, life = utcnow(), lifetimes(svc)
    async with svc.db.read() as session:
        found = await sessions.session_user(session, key, life, now)
    if found is None:
        return None
    row, user = found
    if sessions.needs_touch(row, life, now):
        async with svc.db.write() as session:
            await sessions.touch_sessions(session, [key], now)
    return user


async def list_sessions(svc: Services, user_id: int) -> list[LoginSession]:
    async with svc.db.read() as session:
        return await sessions.sessions_of(session, user_id, lifetimes(svc), utcnow())


async def end(svc: Services, key: str) -> None:
    """End one session (logout) and close its sockets everywhere."""
    async with svc.db.write() as session:
        ended = await sessions.end_session(session, key)
    if ended is not None:
        await svc.sockets.close(ended.user_id, credential(key))


async def end_of_user(svc: Services, user_id: int, key: str) -> bool:
    """End one of the user's own sessions (False: they have no such session)."""
    async with svc.db.read() as session:
        row = await session.get(LoginSession, key)
    if row is None or row.user_id != user_id:
        return False
    await end(svc, key)
    return True


async def end_all(svc: Services, user_id: int, keep: str | None = None) -> None:
    """End every session of the user but `keep` (a password change keeps the one that made
    it), and close their sockets everywhere. Disabling a user also closes their token sockets:
    `svc.sockets.close(user_id)`."""
    async with svc.db.write() as session:
        keys = await sessions.end_user_sessions(session, user_id, keep)
    for key in keys:
        await svc.sockets.close(user_id, credential(key))


async def sweep(svc: Services) -> None:
    """Close this process's sockets whose session ended or lapsed; mark the others used (an
    open tab is a session in use)."""
    registry: SocketRegistry = svc.sockets
    held = registry.credentials()
    used = {c.removeprefix("s:") for c in held if c.startswith("s:")}
    tokens = {c.removeprefix("t:") for c in held if c.startswith("t:")}
    if not used and not tokens:
        return
    now, life = utcnow(), lifetimes(svc)
    async with svc.db.read() as session:
        live = await sessions.live_keys(session, used, life, now)
        dead_tokens = tokens - await accounts.live_token_hashes(session, tokens)
    gone = used - {row.id for row in live}
    if gone or dead_tokens:
        registry.close_credentials_here(
            {credential(k) for k in gone} | {token_credential(t) for t in dead_tokens}
        )
    due = [row.id for row in live if sessions.needs_touch(row, life, now)]
    if due:
        async with svc.db.write() as session:
            await sessions.touch_sessions(session, due, now)


async def prune(svc: Services) -> None:
    async with svc.db.write() as session:
        removed = await sessions.prune_sessions(session, lifetimes(svc), utcnow())
    if removed:
        logger.info("pruned %d lapsed sessions", removed)
