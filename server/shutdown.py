"""Close every socket with 1001 "going away" the moment the process is told to stop.

uvicorn answers SIGINT/SIGTERM by closing WebSockets itself with 1012 ("service restart"), on
its next tick, unless the app's close frame went out first; clients and load balancers read
1001 as "this server is leaving, reconnect elsewhere", which is what happens. So the lifespan
chains a handler in front of uvicorn's that has the bus close its sockets and waits until every
close frame went out, then hands the signal on (README.md, "The bus")."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Bound on the wait for the close frames: each socket needs a loop turn or two (measured: 200
# sockets in a few ms); a socket stuck past this gets uvicorn's 1012 rather than delay the stop.
CLOSE_FIRST_MAX_SECS = 2.0


@contextmanager
def on_stop_signal(close_first: Callable[[], Coroutine[Any, Any, None]]) -> Iterator[None]:
    """On SIGINT/SIGTERM, run `close_first` on the event loop (for at most
    CLOSE_FIRST_MAX_SECS), then the handler that was there before."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (a server in a test thread gets none)
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    running: set[asyncio.Task[None]] = set()

    def chain(signum: int, frame: FrameType | None) -> None:
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        else:  # nobody else handled it: let it do what it would have done
            signal.signal(signum, before)
            signal.raise_signal(signum)

    async def stop(signum: int, frame: FrameType | None) -> None:
        try:
            await asyncio.wait_for(close_first(), CLOSE_FIRST_MAX_SECS)
        except TimeoutError:
            logger.warning("some sockets were not closed within %.0f s", CLOSE_FIRST_MAX_SECS)
        except Exception:
            logger.exception("closing the sockets failed")
        chain(signum, frame)

    def start(signum: int, frame: FrameType | None) -> None:
        task = loop.create_task(stop(signum, frame), name="close-sockets-first")
        running.add(task)
        task.add_done_callback(running.discard)

    def handle(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(start, signum, frame)

    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, handle)
    try:
        yield
    finally:
        for signum, before in previous.items():
            if signal.getsignal(signum) is handle:  # uvicorn may have restored its own already
                signal.signal(signum, before)
