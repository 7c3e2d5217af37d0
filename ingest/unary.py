"""`SubmitScans` without a numpy pass per call: concurrent one-scan calls share one batch.

A phone's call carries 1-50 scans. Checking and storing them costs the same dozens of numpy
calls whether a batch has one row or a thousand, so per-call processing caps unary near a
thousand calls/s. The coalescer instead queues each call's columns and checks them as one
batch, submits them as one hot-store request and, once that is durable, splits the verdicts
and rejections back per call.

How big a batch gets is decided by the store, not by a timer: at most `max_batches` batches
are between "taken from the queue" and "durable" at once (group commit, one level up). The
first call of a quiet spell is flushed on the next loop turn (no linger); under load the
calls that arrive while the store syncs the batches in flight wait for the next free slot
and go together, so the fixed cost per batch (checks, store request, loop wake-up) is shared
by dozens of calls instead of paid by each, and an ack waits at most about two commits.

Semantics per call are unchanged: verdicts, reasons and indexes are the call's own; a call
is answered only after its scans are durable; an overloaded or closing server refuses every
call of the batch (they are retried like any refused call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ingest.pipeline import Ingestor, Outcome, Prepared
from ingest.validation import Columns, Verdict


@dataclass(slots=True)
class _Call:
    scans: Sequence[Any]
    done: asyncio.Future[Outcome] = field(repr=False)


#: a batch's scans (each call's, in call order) -> its columns and contact phones
ToColumns = Callable[[list[Any]], tuple[Columns, list[str]]]
#: a stored batch's outcome and how many calls it answers (metrics, once per batch)
OnBatch = Callable[[Outcome, int], None]


def split_outcome(outcome: Outcome, sizes: list[int]) -> list[Outcome]:
    """The outcome of each part of a concatenated batch, indexes relative to the part.

    Counts come from cumulative sums taken once per batch, so a part costs a slice and a
    few list lookups (the common one-scan part, nothing rejected, no numpy call at all).
    """
    if len(sizes) == 1:
        return [outcome]
    verdicts = outcome.verdicts
    if not outcome.rejections and len(verdicts) == len(sizes) and min(sizes) == 1:
        # one scan a call, none rejected (so each is ACCEPTED or DUPLICATE): no numpy at all
        ok = int(Verdict.ACCEPTED)
        return [
            Outcome(verdicts[k : k + 1], [], int(v == ok), int(v != ok))
            for k, v in enumerate(verdicts.tolist())
        ]
    bounds = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=bounds[1:])
    accepted = np.zeros(len(verdicts) + 1, np.int64)
    np.cumsum(verdicts == Verdict.ACCEPTED, out=accepted[1:])
    duplicate = np.zeros(len(verdicts) + 1, np.int64)
    np.cumsum(verdicts == Verdict.DUPLICATE, out=duplicate[1:])
    acc = accepted[bounds].tolist()
    dup = duplicate[bounds].tolist()
    edges = bounds.tolist()
    by_row = sorted(outcome.rejections, key=lambda r: r.index)
    out = []
    k = 0
    for part in range(len(sizes)):
        lo, hi = edges[part], edges[part + 1]
        mine = []
        while k < len(by_row) and by_row[k].index < hi:
            mine.append(replace(by_row[k], index=by_row[k].index - lo))
            k += 1
        out.append(
            Outcome(verdicts[lo:hi], mine, acc[part + 1] - acc[part], dup[part + 1] - dup[part])
        )
    return out


class UnaryCoalescer:
    """Queues unary calls and checks/stores them in batches (event-loop thread)."""

    def __init__(
        self,
        ingestor: Ingestor,
        to_columns: ToColumns,
        start_batch: Callable[
            [int, Callable[[], Prepared]], Awaitable[tuple[Prepared, asyncio.Future[Any] | None]]
        ],
        *,
        on_batch: OnBatch | None = None,
        max_scans: int = 1024,
        max_batches: int = 2,
    ) -> None:
        self._ingestor = ingestor
        self._on_batch = on_batch
        #: the loop the calls run on, looked up once (`get_running_loop` is a syscall a call)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._to_columns = to_columns
        self._start_batch = start_batch
        self._max_scans = max_scans
        self._max_batches = max_batches
        self._queued: list[_Call] = []
        self._flushing = False
        #: batches taken from the queue and not yet durable (or failed)
        self._in_flight = 0

    async def submit(self, scans: Sequence[Any]) -> Outcome:
        """This call's outcome once its scans are durable (or the batch's refusal).

        `scans` stay as the call's messages until the batch is cut: turning them into
        columns once per batch (`to_columns`) instead of once per call saves the per-call
        numpy arrays, the largest share of a one-scan call's own work on the event loop.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self._queued.append(_Call(scans, done))
        self._schedule()
        return await done

    def _schedule(self) -> None:
        if self._queued and not self._flushing and self._in_flight < self._max_batches:
            self._flushing = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        while self._queued and self._in_flight < self._max_batches:
            take, n = 0, 0
            while take < len(self._queued) and (take == 0 or n < self._max_scans):
                n += len(self._queued[take].scans)
                take += 1
            calls, self._queued = self._queued[:take], self._queued[take:]
            self._in_flight += 1
            assert self._loop is not None
            self._loop.create_task(self._run(calls))

    def _landed(self) -> None:
        """A batch left the store (durable or failed): its slot takes the waiting calls."""
        self._in_flight -= 1
        self._schedule()

    async def _run(self, calls: list[_Call]) -> None:
        landed = False
        try:
            columns, phones = self._to_columns([s for c in calls for s in c.scans])
            prepared, future = await self._start_batch(
                len(columns), lambda: self._ingestor.prepare(columns)
            )
            stored = None if future is None else await future
            landed = True
            self._landed()
            outcome = self._ingestor.finish(prepared, stored)
            if any(phones):
                await self._ingestor.record_contacts(prepared, outcome, phones)
        except BaseException as exc:
            if not landed:
                self._landed()
            for call in calls:
                if not call.done.done():
                    call.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if self._on_batch is not None:
            self._on_batch(outcome, len(calls))
        for call, part in zip(
            calls, split_outcome(outcome, [len(c.scans) for c in calls]), strict=True
        ):
            if not call.done.done():
                call.done.set_result(part)
