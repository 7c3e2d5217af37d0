"""One process, one set of stores: ingest gRPC + officer gRPC + officer HTTP + background work.

RocksDB admits one process per database, so `qrtrace serve` runs everything over one
`IngestNode`: the ingest server (device tokens, `ingest_port`), the officer API's gRPC server
on its own port (`api_grpc_port`: user tokens, a separate listener so it can stay on an
internal network while scanners reach ingest), uvicorn serving the FastAPI app on
`api_http_port` in the same event loop, the maintenance thread (sealing and retention,
storage/maintenance.py) and the case-trace worker that traces newly registered F0s onto the
ward worklists. `start_node` binds everything (port 0 picks free ports, for tests) and
returns a `NodeServers` that knows its ports and how to shut down in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import grpc
import uvicorn
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.context import ApiContext
from api.grpc_services import add_services
from api.http_app import create_app
from api.merged_node import MergedNode
from api.trace_ops import run_queued
from ingest.errors import IngestConfigError
from ingest.node import IngestNode
from ingest.server import IngestServer, create_server, server_credentials
from storage.maintenance import Maintenance, MaintenancePolicy
from storage.settings import Settings

log = logging.getLogger(__name__)
WORKER_INTERVAL_S = 1.0


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: `qrtrace serve` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class OfficerServers:
    """The officer API and background work over one node's stores; `shutdown()` stops them."""

    ctx: ApiContext
    api_grpc: grpc.aio.Server
    api_grpc_port: int
    http: _Uvicorn
    http_port: int
    maintenance: Maintenance | None
    tasks: list[asyncio.Task[None]]

    async def shutdown(self) -> None:
        """API first (no new reads), then the worker and maintenance."""
        self.http.should_exit = True
        await self.api_grpc.stop(grace=1.0)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.maintenance is not None:
            await asyncio.to_thread(self.maintenance.stop, 30.0)
        self.ctx.close()


@dataclass
class NodeServers(OfficerServers):
    """Everything `start_node` started; `shutdown()` stops it in a safe order."""

    ingest: IngestServer
    ingest_port: int

    async def shutdown(self) -> None:
        """API first (no new reads), then the worker and maintenance, then ingest and stores."""
        await super().shutdown()
        await self.ingest.shutdown()


async def _worker(ctx: ApiContext) -> None:
    """Trace queued cases onto the worklists, forever (a failed round is logged, retried)."""
    while True:
        try:
            done = await asyncio.to_thread(run_queued, ctx)
            if done:
                log.info("traced queued cases", extra={"cases": done})
        except Exception:
            log.exception("case-trace worker round failed; retrying")
        await asyncio.sleep(WORKER_INTERVAL_S)


def _bind_http(host: str, port: int) -> socket.socket:
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on sockets that say so; without
    # it uvicorn's separate header/body writes wait ~40 ms for the client's delayed ACK
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise IngestConfigError(f"cannot bind HTTP {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def start_node(
    settings: Settings, *, maintenance: bool = True, worker: bool = True
) -> NodeServers:
    """Open the stores once, bind and start every server (call inside a running loop)."""
    node = IngestNode(settings)
    ingest, ingest_port = create_server(settings, node)
    officer = await start_officer(
        settings, node, maintenance=maintenance, worker=worker, before=ingest.start
    )
    servers = NodeServers(**vars(officer), ingest=ingest, ingest_port=ingest_port)
    log.info(
        "node serving",
        extra={
            "ingest_port": ingest_port,
            "api_grpc_port": servers.api_grpc_port,
            "http_port": servers.http_port,
        },
    )
    return servers


async def start_officer(
    settings: Settings,
    node: IngestNode | MergedNode,
    *,
    maintenance: bool = True,
    worker: bool = True,
    before: Callable[[], Awaitable[None]] | None = None,
) -> OfficerServers:
    """Bind and start the officer API, trace worker and maintenance over `node`.

    `before` runs once everything is bound, before the API starts (the ingest server's
    start). A failed bind closes `node`.
    """
    api_settings = settings.model_copy(update={"ingest_host": settings.api_host})
    try:
        credentials = server_credentials(api_settings)
    except IngestConfigError:
        node.close()
        raise
    ctx = ApiContext(node)
    api = grpc.aio.server(options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    names = add_services(api, ctx)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, api)
    reflection.enable_server_reflection(
        (
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        api,
    )
    address = f"{settings.api_host}:{settings.api_grpc_port}"
    try:
        api_port = (
            api.add_insecure_port(address)
            if credentials is None
            else api.add_secure_port(address, credentials)
        )
        sock = _bind_http(settings.api_host, settings.api_http_port)
    except (RuntimeError, IngestConfigError) as exc:
        ctx.close()
        node.close()
        raise IngestConfigError(
            f"cannot bind the officer API on {settings.api_host}: {exc}"
        ) from None
    config = uvicorn.Config(
        create_app(ctx), log_config=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=5,
    )  # fmt: skip
    http = _Uvicorn(config)
    if before is not None:
        await before()
    await api.start()
    for name in ("", *names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    tasks = [asyncio.create_task(http.serve(sockets=[sock]))]
    if worker:
        tasks.append(asyncio.create_task(_worker(ctx)))
    keeper = None
    if maintenance:
        keeper = Maintenance(
            node.data, MaintenancePolicy.from_settings(settings), directory=node.people
        )
        keeper.start()
    while not http.started:
        await asyncio.sleep(0.01)
    return OfficerServers(ctx, api, api_port, http, sock.getsockname()[1], keeper, tasks)
