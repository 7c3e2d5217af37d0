"""`StreamScans`: batches in, acks out in the same order, several batches in flight.

Two tasks per call. The reader takes a batch only when the call's window
(`ingest_stream_window`) has room, so a client that outruns the store is pushed back by
HTTP/2 flow control rather than by server memory; it decodes, checks and submits the batch
(`Calls.start_batch`), and queues it. The writer (the handler itself) awaits each queued
batch's durable result in order and sends its ack: an ack is sent only after the synced
group commit that holds the batch.

A batch that finds no in-flight room within `ingest_overload_wait_ms`, or a shutdown, ends
the reader; the acks of everything already admitted are still sent, then the call ends with
RESOURCE_EXHAUSTED / UNAVAILABLE so the client retries only the unacknowledged batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import grpc

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest import codec
from ingest.errors import MalformedBatchError, OverloadedError, ShuttingDownError
from ingest.metrics import IngestMetrics
from ingest.pipeline import Ingestor, Prepared
from storage.errors import QrtraceError, StoreClosedError, StoreOverloadedError
from storage.settings import Settings

#: errors that end a call with a status (after the acks of what was admitted)
ENDING: Final = (OverloadedError, StoreOverloadedError, ShuttingDownError, StoreClosedError)
_EOF: Final = object()


class Calls(Protocol):
    """What the stream handler needs from `ingest.server.IngestServicer`."""

    draining: bool
    streams: int
    readers: set[asyncio.Task[Any]]
    ingestor: Ingestor
    settings: Settings
    metrics: IngestMetrics

    def enter(self) -> None: ...

    def leave(self) -> None: ...

    def start_batch(
        self, n: int, columns_prepare: Callable[[], Prepared]
    ) -> Awaitable[tuple[Prepared, asyncio.Future[Any] | None]]: ...

    async def authorize(self, context: grpc.aio.ServicerContext) -> None: ...

    async def refuse(self, context: grpc.aio.ServicerContext, exc: QrtraceError) -> None: ...


@dataclass(slots=True)
class _Pending:
    batch_id: int
    received: float
    n: int
    prepared: Prepared | None
    future: asyncio.Future[Any] | None
    ack: pb.BatchAck | None


async def serve_stream(
    calls: Calls,
    requests: AsyncIterator[pb.ScanBatch | codec.Undecodable],
    context: grpc.aio.ServicerContext,
) -> None:
    """Run one StreamScans call to its end."""
    settings, metrics = calls.settings, calls.metrics
    await calls.authorize(context)
    if calls.draining:
        await calls.refuse(context, ShuttingDownError("server is shutting down"))
    if calls.streams >= settings.ingest_max_streams:
        await calls.refuse(
            context,
            OverloadedError(f"{calls.streams} streams open, limit {settings.ingest_max_streams}"),
        )
    calls.streams += 1
    metrics.open_streams.set(calls.streams)
    calls.enter()
    pending: asyncio.Queue[_Pending | object] = asyncio.Queue()
    window = asyncio.Semaphore(settings.ingest_stream_window)
    ending: list[QrtraceError] = []
    reader = asyncio.create_task(_read(calls, context, pending, window, ending))
    calls.readers.add(reader)
    batches = metrics.batches.labels("stream")
    latency = metrics.ack_latency.labels("stream")
    try:
        while True:
            item = await pending.get()
            if item is _EOF:
                break
            assert isinstance(item, _Pending)
            ack = item.ack
            if ack is None:
                assert item.prepared is not None
                try:
                    stored = None if item.future is None else await item.future
                except StoreClosedError as exc:
                    ending.append(exc)
                    reader.cancel()
                    break
                outcome = calls.ingestor.finish(item.prepared, stored)
                ack = codec.batch_ack(item.batch_id, outcome)
                metrics.count_verdicts(
                    outcome.verdicts, accepted=outcome.accepted, duplicate=outcome.duplicate
                )
            await context.write(ack)
            batches.inc()
            latency.observe(time.perf_counter() - item.received)
            window.release()
        if ending:
            await calls.refuse(context, ending[0])
    finally:
        reader.cancel()
        calls.readers.discard(reader)
        calls.streams -= 1
        metrics.open_streams.set(calls.streams)
        calls.leave()


async def _read(
    calls: Calls,
    context: grpc.aio.ServicerContext,
    pending: asyncio.Queue[_Pending | object],
    window: asyncio.Semaphore,
    ending: list[QrtraceError],
) -> None:
    s = calls.settings
    shutting_down = ShuttingDownError("server is shutting down; retry unacknowledged batches")
    try:
        while not calls.draining:
            await window.acquire()
            request = await context.read()
            if request is grpc.aio.EOF:
                break
            received = time.perf_counter()
            if isinstance(request, codec.Undecodable):
                ack = codec.error_ack(0, "request", f"not a {request.message}: {request.reason}")
                pending.put_nowait(_Pending(0, received, 0, None, None, ack))
                continue
            batch_id = request.batch_id
            try:
                columns = codec.batch_columns(
                    request, max_scans=s.ingest_max_batch_scans, max_codes=s.ingest_max_batch_scans
                )
            except MalformedBatchError as exc:
                ack = codec.error_ack(batch_id, exc.field, exc.reason)
                pending.put_nowait(_Pending(batch_id, received, 0, None, None, ack))
                continue
            try:
                prepared, future = await calls.start_batch(
                    len(columns),
                    lambda c=columns: calls.ingestor.prepare(c),  # type: ignore[misc]
                )
            except ENDING as exc:
                ending.append(exc)
                break
            pending.put_nowait(_Pending(batch_id, received, len(columns), prepared, future, None))
        if calls.draining and not ending:
            ending.append(shutting_down)
    except asyncio.CancelledError:
        if not ending:
            ending.append(shutting_down)
    finally:
        pending.put_nowait(_EOF)
