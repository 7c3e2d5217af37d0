"""`qrtrace serve`: run the gRPC ingest server until SIGTERM/SIGINT, then drain gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from prometheus_client import start_http_server

from api.cli.common import DataDirOption, err_console, reports_errors, settings_for
from api.server import start_node
from storage.settings import Settings

log = logging.getLogger(__name__)


async def run_server(settings: Settings) -> None:
    """Serve, expose metrics if configured, and shut down gracefully on SIGTERM or SIGINT."""
    node = await start_node(settings)
    if settings.ingest_metrics_port:
        start_http_server(settings.ingest_metrics_port, registry=node.ingest.metrics.registry)
    err_console.print(
        f"serving checkin.v1 on {settings.ingest_host}:{node.ingest_port}; officer API gRPC on"
        f" {settings.api_host}:{node.api_grpc_port}, HTTP on http://{settings.api_host}:"
        f"{node.http_port}",
        highlight=False,
    )
    log.info("serving", extra={"host": settings.ingest_host, "port": node.ingest_port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: NOT_SERVING, draining")
    await node.shutdown()


@reports_errors
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Bind address (setting ingest_host).", show_default=False)
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port, 0 for any free one (setting ingest_port).", show_default=False),
    ] = None,
    api_grpc_port: Annotated[
        int | None,
        typer.Option(help="Officer API gRPC port (setting api_grpc_port).", show_default=False),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(help="Officer API HTTP port (setting api_http_port).", show_default=False),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Run officer traces on the Dask scheduler at tcp://HOST:PORT (setting "
            "dask_scheduler).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run ingest gRPC, the officer API (gRPC + HTTP), sealing/retention and the trace queue."""
    settings = settings_for(
        ctx, data_dir=data_dir, ingest_host=host, ingest_port=port,
        api_grpc_port=api_grpc_port, api_http_port=http_port,
        dask_scheduler=dask,
    )  # fmt: skip
    asyncio.run(run_server(settings))
