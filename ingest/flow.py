"""Admission and completion between the event loop and the hot store's writer thread.

`Budget` bounds the scans admitted but not yet durable across all calls (memory stays
bounded under overload: a batch that finds no room in time is refused, not queued).

`CompletionBridge` hands the writer's results back to the loop. The plain way,
`asyncio.wrap_future` plus a `call_soon_threadsafe` to release the budget, costs two
cross-thread wake-ups per batch; the writer resolves a whole group commit (hundreds of
batches) at once, so the bridge queues the finished futures and wakes the loop once per
burst, which then resolves them all in one callback. Both run on the loop thread only,
except `CompletionBridge._arrived`, which runs on the writer thread and only appends.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ingest.errors import OverloadedError
from ingest.metrics import IngestMetrics

T = TypeVar("T")


class Budget:
    """Scans admitted but not yet durable, across all calls (loop thread only)."""

    def __init__(self, limit: int, wait_s: float, metrics: IngestMetrics) -> None:
        self.limit = limit
        self.used = 0
        self._wait_s = wait_s
        self._room = asyncio.Event()
        self._metrics = metrics

    async def admit(self, n: int) -> None:
        """Take room for `n` scans, waiting up to the overload wait (OverloadedError after)."""
        if self.used == 0 or self.used + n <= self.limit:
            self.used += n
            self._metrics.queue_depth.set(self.used)
            return
        deadline = time.monotonic() + self._wait_s
        while self.used > 0 and self.used + n > self.limit:
            self._room.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OverloadedError(
                    f"{self.used} scans in flight, limit {self.limit}; expected the client to"
                    " back off and retry unacknowledged batches"
                )
            try:
                await asyncio.wait_for(self._room.wait(), remaining)
            except TimeoutError:
                continue
        self.used += n
        self._metrics.queue_depth.set(self.used)

    def release(self, n: int) -> None:
        """Give back room for `n` scans."""
        self.used -= n
        self._metrics.queue_depth.set(self.used)
        self._room.set()


class CompletionBridge:
    """Concurrent futures of the writer thread -> asyncio futures, one wake-up per burst."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._done: deque[tuple[Future[Any], asyncio.Future[Any], Callable[[], None]]] = deque()
        self._scheduled = False

    def watch(self, future: Future[T], on_done: Callable[[], None]) -> asyncio.Future[T]:
        """An asyncio future with `future`'s outcome; `on_done` runs first, on the loop."""
        waiter: asyncio.Future[T] = self._loop.create_future()
        future.add_done_callback(lambda f: self._arrived(f, waiter, on_done))
        return waiter

    def _arrived(
        self, future: Future[Any], waiter: asyncio.Future[Any], on_done: Callable[[], None]
    ) -> None:
        # Writer thread. Append first, then look at the flag: `_drain` clears the flag before
        # it pops, so an item appended after the last pop always finds the flag clear.
        self._done.append((future, waiter, on_done))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        done = self._done
        while done:
            future, waiter, on_done = done.popleft()
            on_done()
            if waiter.cancelled():
                continue
            exc = future.exception()
            if exc is not None:
                waiter.set_exception(exc)
            else:
                waiter.set_result(future.result())
