"""Close every socket with 1001 "going away" the moment the process is told to stop.

uvicorn answers SIGINT/SIGTERM by closing WebSockets itself with 1012 ("service restart")
a moment later; clients and load balancers read 1001 as "this server is leaving, reconnect
elsewhere", which is what happens. So the lifespan chains a handler in front of uvicorn's
that asks the bus to close its sockets first (README.md, "The bus")."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Time for every socket task to send its 1001 close frame: they only need a loop iteration or
# two, and a stop is not urgent to a tenth of a second.
CLOSE_FIRST_SECS = 0.1


@contextmanager
def on_stop_signal(callback: Callable[[], None]) -> Iterator[None]:
    """Run `callback` on the event loop when SIGINT/SIGTERM arrives, then the old handler."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (a server in a test thread gets none)
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def chain(signum: int, frame: FrameType | None) -> None:
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        else:  # nobody else handled it: let it do what it would have done
            signal.signal(signum, before)
            signal.raise_signal(signum)

    def handle(signum: int, frame: FrameType | None) -> None:
        # The close frames go out before uvicorn starts its own shutdown (which sends 1012).
        loop.call_soon_threadsafe(callback)
        loop.call_soon_threadsafe(loop.call_later, CLOSE_FIRST_SECS, chain, signum, frame)

    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, handle)
    try:
        yield
    finally:
        for signum, before in previous.items():
            if signal.getsignal(signum) is handle:  # uvicorn may have restored its own already
                signal.signal(signum, before)
