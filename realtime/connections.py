"""One socket's side of the bus (README.md, "The bus"): what it may see, the events it was
offered, and its bounded send queue.

A connection starts *held*: live events are buffered until the client's first frame (a
`hello` replays the log before them) or until `HELLO_WAIT_SECS`, so a reconnecting client
gets missed events strictly before live ones. Access is decided at delivery time: an
`access.changed` event for the connection's user replaces its inbox set from that id on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

from realtime.events import LoggedEvent, wire_frame

# One browser tab rarely has more than a few events in flight; 1024 queued frames is minutes of
# a busy team's traffic, so a full queue means the client stopped reading.
SEND_QUEUE_FRAMES = 1024
CLOSE_SLOW_CONSUMER = 4008  # private-use close code: "your send queue overflowed"
CLOSE_GOING_AWAY = 1001
FLUSH_CHUNK = 32  # sockets written per turn of the loop
# A client that says hello does so in its first frame, one round trip after the upgrade; a
# silent one starts receiving after this wait, with nothing lost (the events were buffered).
HELLO_WAIT_SECS = 0.5


Sink = Callable[[str], Coroutine[Any, Any, None]]
# Writes an encoded frame to the socket at once and returns True, or returns False (the socket
# is not writable now: its buffer is full, or it is closing) and the frame takes the queue.
Direct = Callable[[bytes], bool]


class Unfinished:
    """A send that could not complete at once (the socket's buffer is full): the connection's
    writer task awaits it, which resumes the coroutine where it stopped."""

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        self.coro, self.yielded = coro, yielded

    def __await__(self) -> Generator[Any, Any, None]:
        yielded = self.yielded
        while True:
            try:
                value = yield yielded
            except BaseException as exc:  # cancellation included: hand it on
                try:
                    yielded = self.coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                yielded = self.coro.send(value)
            except StopIteration:
                return


class Outbox:
    """Frames to write at the end of this turn of the event loop, one write per socket: a socket
    offered several events in one turn (a burst of announcements read from Redis at once) gets
    them in one syscall, and a lone event costs the same as writing it at once. One per hub."""

    def __init__(self) -> None:
        self._dirty: list[Connection] = []

    def add(self, conn: Connection) -> None:
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self.flush)
        self._dirty.append(conn)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty[:FLUSH_CHUNK], self._dirty[FLUSH_CHUNK:]
        if self._dirty:  # the rest next turn: commands waiting on the loop go in between
            asyncio.get_running_loop().call_soon(self.flush)
        for conn in dirty:
            conn.flush()


@dataclass(eq=False, slots=True, weakref_slot=True)
class Connection:
    """One socket, kept small: a process holds thousands (docs/performance.md, "Socket
    fan-out"). Its send queue and writer task exist only while the socket is stalled."""

    user_id: int
    team_id: int
    inbox_ids: set[int]
    queue_frames: int = SEND_QUEUE_FRAMES
    # Set by the socket endpoint. While nothing is queued, `send` hands the encoded frame to the
    # outbox, which writes it with `direct` at the end of the loop's turn (or, with no `direct`,
    # starts the `sink` send right away), with no task switch per frame; a queue and a writer
    # task take over when the socket stalls, and go once it has caught up.
    sink: Sink | None = None
    direct: Direct | None = None
    outbox: Outbox | None = None  # set by the hub: frames for `direct` wait there a moment
    # Called once when the connection is asked to close (the endpoint wakes its task with it).
    on_close: Callable[[], None] | None = None
    _pending: list[tuple[str, bytes]] = field(default_factory=list)
    _queue: deque[str | Unfinished] | None = None
    _writer: asyncio.Task[None] | None = None
    closed: bool = False  # asked to close
    ended: bool = False  # its close frame went out (or the socket is gone)
    _ended_waiter: asyncio.Future[None] | None = None
    close_code: int = 1000
    close_reason: str = ""
    last_id: int = 0  # newest event id offered to this connection
    live_from: int = 0  # the team's newest delivered id when the connection registered
    access_id: int = 0  # id of the newest access change applied to inbox_ids
    started: bool = False  # live delivery has begun (the hold is over)
    _buffer: list[LoggedEvent] | None = None  # live events arriving while held or replaying

    @property
    def idle(self) -> bool:
        """Nothing queued or in flight, so a frame may be sent directly."""
        return self._queue is None

    def hold(self, live_from: int) -> None:
        self.last_id = self.live_from = self.access_id = live_from
        self._buffer = []

    def release(self) -> None:
        """End the hold (or a replay): deliver what was buffered, then live events directly."""
        if self.started:
            return
        buffered, self._buffer = self._buffer or [], None
        self.started = True
        for event in buffered:
            self.offer(event)

    def may_see(self, event: LoggedEvent) -> bool:
        """Whether the event is for this connection, whole (a masked one is for everyone). An
        event for one user (`user_id`) that is also about an inbox reaches them only while they
        belong to it, like every event of an inbox."""
        if event.user_id is not None and event.user_id != self.user_id:
            return False
        return event.inbox_id is None or event.inbox_id in self.inbox_ids

    def offer(self, event: LoggedEvent) -> None:
        if self._buffer is not None:
            self._buffer.append(event)
            return
        if event.id <= self.last_id:
            return
        self.last_id = event.id
        self.admit(event)

    def admit(self, event: LoggedEvent) -> None:
        """Apply an access change for this user, then send the event if they may see it."""
        self.apply_access(event)
        if self.may_see(event):
            self.send(event.frame, event.wire)
        elif event.user_id is None and (masked := event.masked) is not None:
            self.send(*masked)  # team-wide, but its inbox's field is not for this one

    def apply_access(self, event: LoggedEvent) -> None:
        if event.access is not None and event.user_id == self.user_id:
            if event.id > self.access_id:  # older changes are already in the set read at connect
                self.inbox_ids, self.access_id = set(event.access), event.id

    def send(self, text: str, wire: bytes | None = None) -> None:
        """Send a frame (`wire`: its encoding, when the caller has it), or queue it; a connection
        whose queue is full is closed as a slow consumer."""
        if self.closed:
            return
        item: str | Unfinished = text
        if self.idle and self.direct is not None and self.outbox is not None:
            if not self._pending:
                self.outbox.add(self)
            self._pending.append((text, wire if wire is not None else wire_frame(text)))
            return
        if self.idle and self.sink is not None:
            coro = self.sink(text)
            try:
                item = Unfinished(coro, coro.send(None))
            except StopIteration:
                return  # sent
            except Exception:
                self.close(CLOSE_GOING_AWAY, "the socket failed")
                return
        self._enqueue(item)

    def reply(self, text: str) -> None:
        """Send the answer to a client's command, and write it at once with whatever waits in
        the outbox for this socket (ahead of it): the client is waiting for it, and the outbox
        would hold it to the end of the loop's turn, one more turn on every round trip."""
        self.send(text)
        if self._pending:
            self.flush()

    def _enqueue(self, item: str | Unfinished) -> bool:
        """Hand a frame to the writer task (started when the queue starts); a full queue closes
        the connection (False)."""
        if self._queue is None:
            if self.sink is None:
                raise RuntimeError("Cannot queue a frame for a connection without a sink.")
            self._queue = deque()
            self._writer = asyncio.get_running_loop().create_task(self._write_queued(self.sink))
        if len(self._queue) >= self.queue_frames:
            self.close(CLOSE_SLOW_CONSUMER, "slow consumer: send queue full")
            return False
        self._queue.append(item)
        return True

    async def _write_queued(self, sink: Sink) -> None:
        """Send what could not be sent at once, in order; end when the queue is empty."""
        queue = self._queue
        assert queue is not None
        try:
            while queue:
                item = queue.popleft()
                await (sink(item) if isinstance(item, str) else item)
        except Exception:  # the socket failed under the send
            self.close(CLOSE_GOING_AWAY, "the socket failed")
            return
        self._queue = self._writer = None

    async def stop_writing(self) -> None:
        """Stop the writer task, if one runs (the endpoint, before its close frame)."""
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.wait([writer])

    def flush(self) -> None:
        """Write what waited in the outbox in one go, or queue it when the socket is stalled."""
        pending, self._pending = self._pending, []
        if not pending or self.closed or self.direct is None:
            return
        data = pending[0][1] if len(pending) == 1 else b"".join(wire for _, wire in pending)
        try:
            if self.direct(data):
                return
        except Exception:
            self.close(CLOSE_GOING_AWAY, "the socket failed")
            return
        for text, _ in pending:  # stalled: these frames and the ones after them wait in the queue
            if not self._enqueue(text):
                return

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.close_code, self.close_reason = code, reason
            self.closed = True
            if self.on_close is not None:
                self.on_close()

    def end(self) -> None:
        """Its close frame went out (or the socket is gone): wake who waits in `wait_ended`."""
        self.ended = True
        if self._ended_waiter is not None and not self._ended_waiter.done():
            self._ended_waiter.set_result(None)

    def wait_ended(self) -> asyncio.Future[None]:
        if self._ended_waiter is None:
            self._ended_waiter = asyncio.get_running_loop().create_future()
            if self.ended:
                self._ended_waiter.set_result(None)
        return self._ended_waiter
