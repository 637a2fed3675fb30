"""A small asyncio client of the socket bus, for bots, scripts and the benchmark (README.md,
"The bus"). It remembers the last event id and, after any disconnect, reconnects with
exponential backoff and says `hello` with that id, so the server replays what was missed.

    async with BusClient("http://127.0.0.1:8000", token=TOKEN) as bus:
        async for event in bus.events():
            if event["type"] == "message.created":
                ack = await bus.command("message.send", {"conversation_id": 1, "body": "Hi"})

`events()` yields every event frame (`{"id", "type", "ts", "data"}`) and `{"type": "resync"}`
when the server no longer keeps the missed events (refetch state over REST then).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from realtime.errors import BusClientError, CommandError, ConnectionLostError

logger = logging.getLogger(__name__)

__all__ = ["BusClient", "BusClientError", "CommandError", "ConnectionLostError"]

FIRST_BACKOFF_SECS = 0.5  # a restarting server is usually back within a second
MAX_BACKOFF_SECS = 30.0  # bounded so a bot notices a recovered server within half a minute
COMMAND_TIMEOUT_SECS = 30.0  # a send waits on Twilio, which the server gives 15 s
# Close codes after which reconnecting cannot help: the credentials were refused.
FATAL_CLOSE_CODES = frozenset({4401, 4403})


class BusClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        cookie: str | None = None,
        last_event_id: int | None = None,
        max_queue: int = 0,
    ) -> None:
        """`base_url` is http(s)://host:port; `cookie` is a `Cookie` header value."""
        self.url = base_url.replace("http", "ws", 1).rstrip("/") + "/ws"
        self.origin = base_url.rstrip("/")
        self.last_event_id = last_event_id
        self._headers: dict[str, str] = {}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._cookie = cookie is not None
        if cookie is not None:
            self._headers["Cookie"] = cookie
        self._events: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue(max_queue)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._refs = itertools.count(1)
        self._ws: websockets.ClientConnection | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._fatal: BusClientError | None = None
        self.connects = 0  # how many times a socket was opened (1 + reconnects)
        self.rate_limited = 0  # commands refused as rate_limited, and so sent again
        self.close_codes: list[int | None] = []  # why each socket ended (None: no close frame)

    async def __aenter__(self) -> BusClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect (retrying with backoff) and return once the first socket is open."""
        self._task = asyncio.create_task(self._run(), name="bus-client")
        self._task.add_done_callback(self._stopped)
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        assert self._task is not None
        if not self._ready.is_set():
            ready = asyncio.create_task(self._ready.wait())
            await asyncio.wait([ready, self._task], return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
        if self._fatal is not None:
            raise self._fatal
        if self._task.done() and not self._task.cancelled():
            self._task.result()  # raises what stopped it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._fail_pending(BusClientError("the client was closed"))

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            item = await self._events.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    async def command(
        self, type: str, data: dict[str, Any], timeout: float = COMMAND_TIMEOUT_SECS
    ) -> dict[str, Any]:
        """Send a command and return its ack's data; raise `CommandError` on an error frame.
        A command refused as `rate_limited` is sent again after the `retry_after_ms` the server
        gave (it did not run), for up to `timeout` in all."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    return await self._command_once(type, data)
                except CommandError as exc:
                    if exc.code != "rate_limited":
                        raise
                    self.rate_limited += 1
                    wait_ms = exc.error.get("retry_after_ms")
                    delay = wait_ms / 1000 if isinstance(wait_ms, int | float) else 1.0
                    await asyncio.sleep(min(max(delay, 0.001), MAX_BACKOFF_SECS))

    async def _command_once(self, type: str, data: dict[str, Any]) -> dict[str, Any]:
        await self._wait_ready()
        if self._ws is None:
            raise ConnectionLostError("not connected")
        ref = f"c{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        try:
            await self._ws.send(json.dumps({"type": type, "ref": ref, "data": data}))
            return await future
        except ConnectionClosed as exc:
            raise ConnectionLostError(f"socket closed before {type} was sent") from exc
        finally:
            self._pending.pop(ref, None)

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECS
        while True:
            code: int | None = None
            try:
                async with websockets.connect(
                    self.url,
                    additional_headers=self._headers,
                    origin=websockets.Origin(self.origin) if self._cookie else None,
                    max_size=None,
                ) as ws:
                    hello: dict[str, Any] = {"type": "hello"}
                    if self.last_event_id is not None:
                        hello["last_event_id"] = self.last_event_id
                    await ws.send(json.dumps(hello))
                    self._ws, self.connects = ws, self.connects + 1
                    self._ready.set()
                    backoff = FIRST_BACKOFF_SECS
                    async for raw in ws:
                        await self._dispatch(json.loads(raw))
                    code = ws.close_code
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    await self._give_up(BusClientError(f"refused: HTTP {exc.response.status_code}"))
                    return
            except (OSError, TimeoutError, WebSocketException) as exc:  # retried: a restart
                code = exc.rcvd.code if isinstance(exc, ConnectionClosed) and exc.rcvd else None
            finally:
                opened, self._ws = self._ws is not None, None
                self._ready.clear()
                self._fail_pending(ConnectionLostError("the socket closed"))
            if opened:
                self.close_codes.append(code)
            if code in FATAL_CLOSE_CODES:
                await self._give_up(BusClientError(f"refused: close code {code}"))
                return
            delay = backoff * (0.5 + random.random())  # jitter: a fleet does not reconnect at once
            logger.info("bus socket closed (code %s); reconnecting in %.1f s", code, delay)
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, MAX_BACKOFF_SECS)

    async def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        ref = frame.get("ref")
        if kind in ("ack", "error", "pong") and isinstance(ref, str) and ref in self._pending:
            future = self._pending.pop(ref)
            if not future.done():
                if kind == "error":
                    future.set_exception(CommandError(frame.get("error") or {}))
                else:
                    future.set_result(frame.get("data") or {})
            return
        if isinstance(frame.get("id"), int):
            self.last_event_id = frame["id"]
        elif kind == "resync":
            self.last_event_id = None  # the server has nothing to replay from that id
        if kind in ("ack", "error", "pong"):
            if kind == "error":
                logger.warning("bus error frame: %s", frame.get("error"))
            return
        await self._events.put(frame)

    async def _give_up(self, error: BusClientError) -> None:
        self._fatal = error
        self._fail_pending(error)
        await self._events.put(error)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._events.put_nowait(task.exception() or BusClientError("stopped"))

    def _fail_pending(self, error: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
