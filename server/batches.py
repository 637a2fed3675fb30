"""Calls gathered into batches: what arrives while a batch is being handled waits, and goes in
the next one together. Nothing waits on purpose (unlike server/bus.py's DeferredEvents, which
holds its first event 20 ms): a lone call goes at once, a burst costs one write transaction per
batch instead of one per call (docs/performance.md, "Ingest"). Work that first waits for its turn
(the store's write lock) may take into its batch what arrived meanwhile: `take_more`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
# One result per item, in order: its value, or the exception that item alone is answered with.
Work = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]
Spawn = Callable[[Coroutine[Any, Any, Any], str], None]
GATHER_TURNS = 8


class Batcher(Generic[T, R]):
    """`submit` items; one task at a time hands the waiting ones to `work`, at most `most` at
    a time. A batch whose `work` raises answers each of its items with that exception."""

    def __init__(self, name: str, work: Work[T, R], spawn: Spawn, most: int) -> None:
        self._name, self._work, self._spawn, self._most = name, work, spawn, most
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._batch: list[tuple[T, asyncio.Future[R]]] = []  # the one `work` has now
        self._running = False

    def submit(self, item: T) -> asyncio.Future[R]:
        """The item's result, once its batch is done."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._running:
            self._running = True
            self._spawn(self._drain(), self._name)
        return future

    async def _gather(self) -> None:
        """Let the loop run while items keep arriving (requests it is reading now reach
        `submit` a turn or two later), GATHER_TURNS turns at most."""
        for _ in range(GATHER_TURNS):
            before = len(self._waiting)
            await asyncio.sleep(0)
            if len(self._waiting) == before or len(self._waiting) >= self._most:
                return

    def take_more(self, items: list[T]) -> None:
        """Add to the running batch, whose `work` was handed `items`, what has arrived since
        (up to `most` in all), appending it to `items`: for work that waited for its turn (the
        store's write lock, which another process may hold), so that what came meanwhile goes in
        the same transaction rather than the next (docs/performance.md, "Ingest")."""
        room = self._most - len(self._batch)
        extra, self._waiting = self._waiting[:room], self._waiting[room:]
        self._batch += extra
        items += [item for item, _ in extra]

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._gather()
                self._batch = self._waiting[: self._most]
                self._waiting = self._waiting[self._most :]
                try:
                    results = await self._work([item for item, _ in self._batch])
                except Exception as exc:
                    results = [exc] * len(self._batch)
                for (_, future), result in zip(self._batch, results, strict=True):
                    if future.done():  # its caller gave up (cancelled)
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                self._batch = []
        finally:
            self._running = False
            if self._batch:  # cancelled mid-batch (the server stopping): nothing more is handled
                for _, future in self._batch + self._waiting:
                    future.cancel()
                self._waiting = []
                self._batch = []
