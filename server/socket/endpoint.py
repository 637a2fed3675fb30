"""The `/ws` endpoint (DESIGN.md, "WebSocket"): authenticate, register with the bus, read the
client's frames, and answer each command exactly once, with its `ref` (server/socket/commands.py
holds the commands; server/errors.py says how each refusal is answered)."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from functools import partial
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from inbox import accounts
from realtime.connections import HELLO_WAIT_SECS, Connection
from realtime.events import error_frame
from server.auth import bearer_token, current_user, same_origin, session_key
from server.config import Settings
from server.errors import ApiError, answer_of
from server.flows import presence, sessions
from server.inputs import check_text, load_json
from server.services import Services, services
from server.socket.commands import HANDLERS, Command
from server.socket.transport import direct_writer, forget_handshake, text_sink

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_THROTTLED = 4429  # refused before accept, like 4401: the client sees HTTP 403
# The `ref` of a command at the very start of a frame too large to parse: `{"type": "...",
# "ref": ...` as our clients write it (a key at the start of the object is at its top level).
_LEADING_REF = re.compile(
    r'\s*\{\s*(?:"type"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*)?"ref"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)'
)


class _Bucket:
    """A token bucket: `rate_per_sec` frames a second, bursts of up to `burst`."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate_per_sec: float, burst: float) -> None:
        self.rate, self.burst = rate_per_sec, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> int:
        """0 when a frame may be handled now; else how long until one may, in ms (at least 1)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, math.ceil((1 - self.tokens) / self.rate * 1000))


def _bucket(settings: Settings, how: str) -> _Bucket:
    """Browsers (cookie) get a person's allowance; programs (a token: bots, scripts) a busy
    inbox's (docs/reliability.md, "Rate limits")."""
    if how == "token":
        return _Bucket(settings.bot_socket_rate_per_sec, settings.bot_socket_burst)
    return _Bucket(settings.socket_rate_per_sec, settings.socket_burst)


async def ws_endpoint(websocket: WebSocket) -> bool:
    """Serve one socket; whether it was accepted (server/socket/route.py logs the upgrade). One
    task per socket, this one: it reads the client's frames, a writer task exists only while
    the socket is stalled, and a close asked for elsewhere (a slow consumer, the session ending,
    the server stopping) wakes it by cancelling its wait for the next frame."""
    svc = services(websocket)
    opened = await _open(websocket, svc)
    if opened is None:
        return False
    conn, bucket = opened
    task = asyncio.current_task()
    assert task is not None
    conn.on_close = partial(_wake, task)
    # The hold ends after HELLO_WAIT_SECS or at the first frame, whichever comes first: the
    # timer is stopped the moment a frame arrives, so it can never end the hold in the middle
    # of the replay a hello starts (live events would go out among the replayed ones, some twice).
    timer = asyncio.get_running_loop().call_later(HELLO_WAIT_SECS, conn.release)
    try:
        await _read_frames(websocket, conn, svc, bucket, timer)
    except asyncio.CancelledError:
        if not conn.closed or task.uncancel() > 0:
            raise  # not (only) our wake-up: the server cancels this task
    finally:
        timer.cancel()
        conn.on_close = None  # no wake-up may land in the clean-up below
        await conn.stop_writing()
        # The close frame first, then the clean-up: on a stop, every socket must have its 1001
        # before the server's own shutdown would close it with 1012 (server/shutdown.py).
        if conn.closed:
            try:
                await websocket.close(conn.close_code, conn.close_reason)
            except (RuntimeError, OSError, WebSocketDisconnect):
                pass  # the client is already gone
        conn.end()
        svc.metrics.socket_closed()
        svc.hub.unregister(conn)
        svc.sockets.discard(conn)
        await presence.disconnected(svc, conn)
    return True


async def _open(websocket: WebSocket, svc: Services) -> tuple[Connection, _Bucket] | None:
    """Authenticate, accept and register the socket (None: refused and closed). The user's row
    stays here: the connection keeps only their ids (commands read the row afresh)."""
    try:
        user, how = await current_user(websocket)
    except ApiError as exc:  # too many bad tokens from this address
        await websocket.close(CLOSE_THROTTLED, exc.message)
        return None
    if user is None:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    if how == "cookie" and not same_origin(websocket):
        await websocket.close(CLOSE_FORBIDDEN)
        return None
    assert user.id is not None
    conn = Connection(user.id, user.team_id, set(), svc.settings.send_queue_frames)
    # Registered before the upgrade is answered, so a client that sees the socket open misses no
    # event committed from then on (tests/faults/test_connect_burst.py); held until its first
    # frame: a hello replays before live events.
    await svc.hub.register(conn)
    try:
        await websocket.accept()
    except BaseException:
        svc.hub.unregister(conn)
        raise
    # Ending the session (logout, a password change) closes the socket: server/sockets.py.
    svc.sockets.add(conn, _credential(websocket, how))
    forget_handshake(websocket)
    async with svc.db.read() as session:  # read after registering: later changes arrive as events
        conn.inbox_ids = await accounts.visible_inbox_ids(session, user)
    await presence.connected(svc, conn, user)
    conn.sink = text_sink(websocket)
    conn.direct = direct_writer(websocket)
    svc.metrics.socket_opened()
    return conn, _bucket(svc.settings, how)


def _wake(task: asyncio.Task[Any]) -> None:
    """Stop the endpoint's wait for a frame; a close asked for by the endpoint's own task (a
    reply that overflowed the queue) needs none: its read loop looks before reading again."""
    if asyncio.current_task() is not task:
        task.cancel()


def _resumes(text: str | None) -> bool:
    """Whether a first frame may be a hello with last_event_id (which ends the hold itself)."""
    return text is not None and "hello" in text and "last_event_id" in text


async def _read_frames(
    websocket: WebSocket,
    conn: Connection,
    svc: Services,
    bucket: _Bucket,
    hold_timer: asyncio.TimerHandle,
) -> None:
    """Answer every frame exactly once, with the command's `ref` whenever it can be read: a
    client awaiting a refused command must hear of it (a rate-limited one, after
    `retry_after_ms`, may simply be sent again)."""
    while not conn.closed:
        message = await websocket.receive()
        hold_timer.cancel()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if not conn.started and not _resumes(text):
            conn.release()
        if text is None:
            _refuse(conn, None, "text_only", "send JSON in text frames")
            continue
        if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
            why = f"frames are limited to {MAX_FRAME_BYTES} bytes"
            _refuse(conn, _leading_ref(text), "too_large", why)
            continue
        wait_ms = bucket.take()  # every frame counts, the unreadable ones too
        try:
            command = load_json(text)
        except ValueError:  # deeply nested arrays included
            _refuse(conn, None, "invalid_json", "the frame is not JSON")
            continue
        ref = command.get("ref") if isinstance(command, dict) else None
        if wait_ms:
            _refuse(conn, ref, "rate_limited", "too many frames; slow down", retry_after_ms=wait_ms)
            continue
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            _refuse(conn, ref, "invalid_command", 'a command is {"type": ..., "data": ...}')
            continue
        presence.acted(svc, conn, command["type"])
        try:
            check_text(command)
            await _handle(command, conn, svc, websocket)
        except WebSocketDisconnect:
            return
        except Exception as exc:  # every command gets an answer, a refusal included
            answer = answer_of(exc)
            if answer is None:
                logger.exception("command %r failed", command["type"])
                conn.reply(error_frame(command.get("ref"), "internal", "something went wrong"))
            else:
                conn.reply(
                    error_frame(command.get("ref"), answer.code, answer.message, **answer.extra)
                )
        finally:
            conn.release()  # a no-op once live; ends the hold if a hello was refused


def _credential(websocket: WebSocket, how: str) -> str:
    """The session's key, or the token's stored hash (`t:<hash>`, as in the token table)."""
    key = session_key(websocket) if how == "cookie" else None
    if key is not None:
        return sessions.credential(key)
    return sessions.token_credential(accounts.hash_token(bearer_token(websocket) or ""))


def _refuse(conn: Connection, ref: Any, code: str, message: str, **extra: Any) -> None:
    conn.release()  # a refused first frame ends the hold like any other
    conn.reply(error_frame(ref, code, message, **extra))


def _leading_ref(text: str) -> Any:
    match = _LEADING_REF.match(text)
    return load_json(match.group(1)) if match else None


async def _handle(command: dict[str, Any], conn: Connection, svc: Services, ws: WebSocket) -> None:
    kind = command["type"]
    raw = command.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if kind == "hello" and "last_event_id" in command:
        data = {**data, "last_event_id": command["last_event_id"]}  # hello carries it on top
    handler = HANDLERS.get(kind)
    if handler is None:
        raise ApiError(422, "unknown_command", f"unknown command {kind!r}")
    cmd = Command(kind, command.get("ref"), data, conn, svc, ws)
    if not (svc.metrics.enabled and kind.startswith("lock.")):
        await handler(cmd)
        return
    started, result = time.perf_counter(), "ok"
    try:
        await handler(cmd)
    except Exception as exc:
        answer = answer_of(exc)
        result = answer.code if answer else "internal"
        raise
    finally:
        svc.metrics.lock_operation(kind, result, time.perf_counter() - started)
