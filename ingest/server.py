"""The gRPC ingest server (`checkin.v1.IngestService`) on grpc.aio.

`create_server(settings)` builds and binds it (port 0 picks a free port, for tests) and
returns `(server, port)`; `qrtrace serve` adds signal handling. The servicer is thin:
decode (`ingest.codec`), check and store (`ingest.pipeline`), encode; the stream handler is
`ingest.stream`, unary calls are coalesced by `ingest.unary`, and `ingest.flow` holds the
in-flight budget and the writer -> loop bridge. The limits that bound memory:

- `ingest_max_message_bytes` caps a request (grpc answers RESOURCE_EXHAUSTED);
- `ingest_max_streams` caps open streams, `ingest_stream_window` the batches one stream has
  in flight (the stream is not read further, so HTTP/2 flow control pushes back on the
  client), and `ingest_max_inflight_scans` the scans admitted but not yet durable across all
  calls. A batch that finds no room within `ingest_overload_wait_ms` ends its call with
  RESOURCE_EXHAUSTED, after the acks of everything already admitted were sent.

An ack is written only after the hot store's future resolved, i.e. after the synced group
commit: every ack ever sent is durable, so a kill -9 can lose only unacknowledged batches,
which clients retry with the same scan ids (DUPLICATE if they had landed after all).

Shutdown (`IngestServer.shutdown`, SIGTERM in `qrtrace serve`): health turns NOT_SERVING,
new calls get UNAVAILABLE, streams stop reading, flush the acks of what they admitted and
end with UNAVAILABLE; then the gRPC server stops and the stores close.

Accept loops: one grpc.aio server takes new calls one at a time (it asks the core for the
next call only once the previous one is dispatched, a round trip through its poller thread
and the event loop), so on a busy loop it caps one-scan unary calls near 3,000/s whatever
the cores. `ingest_accept_loops` servers share the port (SO_REUSEPORT; the kernel spreads
connections over them), the servicer, the health state and everything behind them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest import codec
from ingest.auth import METADATA_KEY, DeviceTokens
from ingest.errors import (
    AuthError,
    IngestConfigError,
    MalformedBatchError,
    OverloadedError,
    ShuttingDownError,
)
from ingest.flow import Budget, CompletionBridge
from ingest.gcpolicy import calm_gc, settle_gc
from ingest.metrics import IngestMetrics
from ingest.node import IngestNode
from ingest.pipeline import Ingestor, Outcome, Prepared
from ingest.stream import ENDING, serve_stream
from ingest.unary import UnaryCoalescer
from storage.errors import QrtraceError, StoreClosedError, StoreOverloadedError
from storage.settings import Settings

if TYPE_CHECKING:
    from ingest.process import ProcessNode

SERVICE: Final = pb.DESCRIPTOR.services_by_name["IngestService"].full_name
log = logging.getLogger(__name__)

#: transport-free errors -> gRPC status (the one table)
STATUS_OF: Final[dict[type[QrtraceError], grpc.StatusCode]] = {
    AuthError: grpc.StatusCode.UNAUTHENTICATED,
    OverloadedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    StoreOverloadedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ShuttingDownError: grpc.StatusCode.UNAVAILABLE,
    StoreClosedError: grpc.StatusCode.UNAVAILABLE,
}


def status_of(exc: QrtraceError) -> grpc.StatusCode:
    """The gRPC status of a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.FAILED_PRECONDITION


class IngestServicer:
    """StreamScans and SubmitScans over one `Ingestor`."""

    def __init__(
        self,
        ingestor: Ingestor,
        settings: Settings,
        metrics: IngestMetrics,
        tokens: DeviceTokens,
    ) -> None:
        self.ingestor = ingestor
        self._tokens = tokens
        self.settings = settings
        self.metrics = metrics
        self._bridge: CompletionBridge | None = None
        self._unary_batches = metrics.batches.labels("unary")
        self._unary = UnaryCoalescer(
            ingestor, codec.scans_columns, self.start_batch, on_batch=self._count_unary
        )
        self._unary_latency = metrics.ack_latency.labels("unary")
        self._budget = Budget(
            settings.ingest_max_inflight_scans,
            settings.ingest_overload_wait_ms / 1000,
            metrics,
        )
        self.draining = False
        self.streams = 0
        self.readers: set[asyncio.Task[Any]] = set()
        self._calls_done = asyncio.Event()
        self._calls = 0

    # ------------------------------------------------------------ shared

    async def start_batch(
        self, n: int, columns_prepare: Callable[[], Prepared]
    ) -> tuple[Prepared, asyncio.Future[Any] | None]:
        """Admit `n` scans into the budget, prepare and submit; the future resolves durable."""
        if self.draining:
            raise ShuttingDownError("server is shutting down; retry on another server")
        await self._budget.admit(n)
        try:
            prepared = columns_prepare()
            cfuture = self.ingestor.submit(prepared)
        except BaseException:
            self._budget.release(n)
            raise
        if cfuture is None:
            self._budget.release(n)
            return prepared, None
        if self._bridge is None:
            self._bridge = CompletionBridge(asyncio.get_running_loop())
        return prepared, self._bridge.watch(cfuture, lambda: self._budget.release(n))

    def _count_unary(self, outcome: Outcome, calls: int) -> None:
        """Verdict and call counters, once per coalesced batch instead of once per call."""
        self.metrics.count_verdicts(
            outcome.verdicts, accepted=outcome.accepted, duplicate=outcome.duplicate
        )
        self._unary_batches.inc(calls)

    def enter(self) -> None:
        self._calls += 1
        self._calls_done.clear()

    def leave(self) -> None:
        self._calls -= 1
        if self._calls == 0:
            self._calls_done.set()

    async def wait_calls_done(self, timeout: float) -> bool:
        """Wait until no call is running; False on timeout."""
        if self._calls == 0:
            return True
        try:
            await asyncio.wait_for(self._calls_done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stop_reading(self) -> None:
        """Shutdown: every stream stops taking batches (its admitted ones still get acks)."""
        self.draining = True
        for task in list(self.readers):
            task.cancel()

    async def authorize(self, context: grpc.aio.ServicerContext) -> None:
        """End the call UNAUTHENTICATED unless it carries a known device token.

        In the handlers, not a server interceptor: an interceptor is one more coroutine
        and handler lookup per call, ~8 % of a one-scan call's server CPU (measured). The
        health and reflection services have no such check: they are open.
        """
        value = None
        for key, item in context.invocation_metadata() or ():
            if key == METADATA_KEY:
                value = item
                break
        try:
            self._tokens.device_for(value if isinstance(value, str) else None)
        except AuthError as exc:
            await self.refuse(context, exc)

    async def refuse(self, context: grpc.aio.ServicerContext, exc: QrtraceError) -> None:
        code = status_of(exc)
        self.metrics.refused.labels(code.name.lower()).inc()
        await context.abort(code, str(exc))

    # ------------------------------------------------------------ unary

    async def SubmitScans(  # noqa: N802 - gRPC method name
        self,
        request: pb.SubmitScansRequest | codec.Undecodable,
        context: grpc.aio.ServicerContext,
    ) -> pb.SubmitScansResponse | bytes:
        """Up to 50 scans; answers once the accepted ones are durable."""
        received = time.perf_counter()
        await self.authorize(context)
        self.enter()
        try:
            if isinstance(request, codec.Undecodable):
                return codec.submit_error("request", f"not a {request.message}: {request.reason}")
            try:
                codec.check_request(request)
            except MalformedBatchError as exc:
                return codec.submit_error(exc.field, exc.reason)
            try:
                outcome = await self._unary.submit(request.scans)
            except ENDING as exc:
                await self.refuse(context, exc)
                raise AssertionError("unreachable") from None
            self._unary_latency.observe(time.perf_counter() - received)
            return codec.submit_reply(outcome)
        finally:
            self.leave()

    # ------------------------------------------------------------ stream

    async def StreamScans(  # noqa: N802 - gRPC method name
        self,
        requests: AsyncIterator[pb.ScanBatch | codec.Undecodable],
        context: grpc.aio.ServicerContext,
    ) -> None:
        """Batches in, acks out in the same order (`ingest.stream`)."""
        await serve_stream(self, requests, context)


def _deserializer(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    return parse


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS (or mTLS) credentials from the settings; None means plaintext (loopback only)."""
    cert, key, ca = settings.ingest_tls_cert, settings.ingest_tls_key, settings.ingest_tls_client_ca
    if (cert is None) != (key is None):
        raise IngestConfigError("ingest_tls_cert and ingest_tls_key must be set together")
    if cert is None or key is None:
        if ca is not None:
            raise IngestConfigError("ingest_tls_client_ca (mTLS) needs ingest_tls_cert/key too")
        if not _is_loopback(settings.ingest_host) and not settings.ingest_allow_plaintext:
            raise IngestConfigError(
                f"ingest_host {settings.ingest_host} is not loopback and no TLS is configured;"
                " expected ingest_tls_cert/ingest_tls_key (or ingest_allow_plaintext=true"
                " behind a TLS-terminating proxy)"
            )
        return None
    try:
        pair = (key.read_bytes(), cert.read_bytes())
        root = ca.read_bytes() if ca is not None else None
    except OSError as exc:
        raise IngestConfigError(f"TLS file unreadable: {exc}") from None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=root, require_client_auth=root is not None
    )


class IngestServer:
    """Bound (not yet started) gRPC servers (the accept loops) and everything they share."""

    def __init__(
        self,
        grpc_servers: list[grpc.aio.Server],
        node: IngestNode | ProcessNode,
        *,
        servicer: IngestServicer,
        health_servicer: health.aio.HealthServicer,
        metrics: IngestMetrics,
        drain_timeout_s: float,
    ) -> None:
        self.grpc_servers = grpc_servers
        self.node = node
        self.servicer = servicer
        self.health = health_servicer
        self.metrics = metrics
        self._drain_timeout_s = drain_timeout_s
        self._fsync_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """Start serving and mark health SERVING."""
        for server in self.grpc_servers:
            await server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
        calm_gc()  # no full-heap GC pauses in the ack path (ingest.gcpolicy)
        self._fsync_task = asyncio.create_task(self._watch_commits())
        log.info("ingest server started", extra={"service": SERVICE})

    async def _watch_commits(self) -> None:
        """Feed the fsync batch-size histogram from the hot store's commit counters; after
        the first commit, settle the collector (`ingest.gcpolicy.settle_gc`)."""
        seen = self.node.data.hot.stats().commits
        settled = False
        while True:
            await asyncio.sleep(1.0)
            stats = self.node.data.hot.stats()
            if not settled and stats.commits > 0:
                settle_gc()
                settled = True
            new = min(stats.commits - seen, len(stats.group_scans))
            for size in stats.group_scans[len(stats.group_scans) - new :].tolist():
                self.metrics.fsync_batch.observe(size)
            seen = stats.commits

    async def shutdown(self) -> None:
        """Graceful: NOT_SERVING, stop taking batches, ack what was admitted, stop, close."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        await self.health.enter_graceful_shutdown()
        self.servicer.stop_reading()
        drained = await self.servicer.wait_calls_done(self._drain_timeout_s)
        await asyncio.gather(*(server.stop(grace=1.0) for server in self.grpc_servers))
        if self._fsync_task is not None:
            self._fsync_task.cancel()
        await asyncio.to_thread(self.node.close)
        log.info("ingest server stopped", extra={"drained": drained})

    async def wait_for_termination(self) -> None:
        """Until `shutdown` ran (or the gRPC servers ended)."""
        await asyncio.gather(*(server.wait_for_termination() for server in self.grpc_servers))


def refuse_taken_port(host: str, port: int) -> None:
    """IngestConfigError when something already listens on `host:port`.

    The accept loops bind with SO_REUSEPORT, which would let a second `qrtrace serve` on
    the same port quietly share its connections; a plain bind still fails on a taken port.
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise IngestConfigError(f"cannot bind {host}:{port}: {exc}") from None


def _grpc_server(
    settings: Settings, servicer: IngestServicer, health_servicer: health.aio.HealthServicer
) -> grpc.aio.Server:
    """One accept loop: a grpc.aio server with the ingest, health and reflection services."""
    shared_port = settings.ingest_processes > 1 or settings.ingest_accept_loops > 1
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", settings.ingest_max_message_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            # a fixed 256 KiB HTTP/2 window per stream instead of BDP probing (which grows it
            # to megabytes): room for ~7 1,000-scan batches ahead, and a stream we are not
            # reading (window full, or refused) cannot park more than that in gRPC's buffers
            # (under a flood that is once per gateway: up to 100 MiB at 200 gateways with 512 KiB)
            ("grpc.http2.bdp_probe", 0),
            ("grpc.http2.lookahead_bytes", 256 * 1024),
            ("grpc.so_reuseport", int(shared_port)),
        ],
        maximum_concurrent_rpcs=settings.ingest_max_streams + 4096,
    )
    handlers = {
        "StreamScans": grpc.stream_stream_rpc_method_handler(
            servicer.StreamScans,
            request_deserializer=codec.parse_scan_batch,
            response_serializer=pb.BatchAck.SerializeToString,
        ),
        "SubmitScans": grpc.unary_unary_rpc_method_handler(
            servicer.SubmitScans,
            request_deserializer=codec.parse_submit_request,
            response_serializer=codec.serialize_reply,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    return server


def create_server(
    settings: Settings,
    node: IngestNode | ProcessNode | None = None,
    *,
    metrics: IngestMetrics | None = None,
) -> tuple[IngestServer, int]:
    """Build and bind the server (call from a running event loop); returns (server, port).

    Its `ingest_accept_loops` gRPC servers share the port; with `ingest_processes` > 1 so do
    those of every ingest process (SO_REUSEPORT).
    """
    credentials = server_credentials(settings)
    if settings.ingest_processes == 1 and settings.ingest_port != 0:
        refuse_taken_port(settings.ingest_host, settings.ingest_port)
    node = node if node is not None else IngestNode(settings)
    metrics = metrics if metrics is not None else IngestMetrics()
    servicer = IngestServicer(node.ingestor, settings, metrics, node.tokens)
    health_servicer = health.aio.HealthServicer()
    servers = [
        _grpc_server(settings, servicer, health_servicer)
        for _ in range(settings.ingest_accept_loops)
    ]
    port = settings.ingest_port
    try:
        for server in servers:  # the first may pick the port (0); the others join it
            address = f"{settings.ingest_host}:{port}"
            if credentials is None:
                port = server.add_insecure_port(address)
            else:
                port = server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        node.close()
        raise IngestConfigError(f"cannot bind {address}: {exc}") from None
    ingest_server = IngestServer(
        servers,
        node,
        servicer=servicer,
        health_servicer=health_servicer,
        metrics=metrics,
        drain_timeout_s=settings.ingest_drain_timeout_s,
    )
    return ingest_server, port
