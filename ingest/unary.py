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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ingest.pipeline import Ingestor, Outcome, Prepared
from ingest.validation import Columns, Verdict


@dataclass(slots=True)
class _Call:
    columns: Columns
    phones: list[str]
    done: asyncio.Future[Outcome] = field(repr=False)


def concat_columns(parts: list[Columns]) -> Columns:
    """One batch of text-reference columns from several (venue code indexes re-based)."""
    if len(parts) == 1:
        return parts[0]
    codes: list[str] = []
    index = []
    for part in parts:
        index.append(part.venue_index + np.uint32(len(codes)))
        codes.extend(part.venue_codes)
    return Columns(
        scan_ids=np.concatenate([p.scan_ids for p in parts]),
        times_ms=np.concatenate([p.times_ms for p in parts]),
        directions=np.concatenate([p.directions for p in parts]),
        venue_index=np.concatenate(index),
        venue_codes=codes,
        person_numbers=None,
        person_texts=[t for p in parts for t in (p.person_texts or [])],
    )


def split_outcome(outcome: Outcome, sizes: list[int]) -> list[Outcome]:
    """The outcome of each part of a concatenated batch, indexes relative to the part."""
    if len(sizes) == 1:
        return [outcome]
    out = []
    lo = 0
    by_row = sorted(outcome.rejections, key=lambda r: r.index)
    k = 0
    for n in sizes:
        hi = lo + n
        mine = []
        while k < len(by_row) and by_row[k].index < hi:
            mine.append(replace(by_row[k], index=by_row[k].index - lo))
            k += 1
        verdicts = outcome.verdicts[lo:hi]
        accepted = int(np.count_nonzero(verdicts == Verdict.ACCEPTED))
        duplicate = int(np.count_nonzero(verdicts == Verdict.DUPLICATE))
        out.append(Outcome(verdicts, mine, accepted, duplicate))
        lo = hi
    return out


class UnaryCoalescer:
    """Queues unary calls and checks/stores them in batches (event-loop thread)."""

    def __init__(
        self,
        ingestor: Ingestor,
        start_batch: Callable[
            [int, Callable[[], Prepared]], Awaitable[tuple[Prepared, asyncio.Future[Any] | None]]
        ],
        *,
        max_scans: int = 1024,
        max_batches: int = 2,
    ) -> None:
        self._ingestor = ingestor
        self._start_batch = start_batch
        self._max_scans = max_scans
        self._max_batches = max_batches
        self._queued: list[_Call] = []
        self._flushing = False
        #: batches taken from the queue and not yet durable (or failed)
        self._in_flight = 0

    async def submit(self, columns: Columns, phones: list[str]) -> Outcome:
        """This call's outcome once its scans are durable (or the batch's refusal)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queued.append(_Call(columns, phones, done))
        self._schedule()
        return await done

    def _schedule(self) -> None:
        if self._queued and not self._flushing and self._in_flight < self._max_batches:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        while self._queued and self._in_flight < self._max_batches:
            take, n = 0, 0
            while take < len(self._queued) and (take == 0 or n < self._max_scans):
                n += len(self._queued[take].columns)
                take += 1
            calls, self._queued = self._queued[:take], self._queued[take:]
            self._in_flight += 1
            asyncio.get_running_loop().create_task(self._run(calls))

    def _landed(self) -> None:
        """A batch left the store (durable or failed): its slot takes the waiting calls."""
        self._in_flight -= 1
        self._schedule()

    async def _run(self, calls: list[_Call]) -> None:
        landed = False
        try:
            columns = concat_columns([c.columns for c in calls])
            prepared, future = await self._start_batch(
                len(columns), lambda: self._ingestor.prepare(columns)
            )
            stored = None if future is None else await future
            landed = True
            self._landed()
            outcome = self._ingestor.finish(prepared, stored)
            phones = [p for c in calls for p in c.phones]
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
        for call, part in zip(
            calls, split_outcome(outcome, [len(c.columns) for c in calls]), strict=True
        ):
            if not call.done.done():
                call.done.set_result(part)
