"""`qrtrace serve`: run the gRPC ingest server until SIGTERM/SIGINT, then drain gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from prometheus_client import start_http_server

from api.cli.common import DataDirOption, err_console, reports_errors, settings_for
from ingest.server import create_server
from storage.settings import Settings

log = logging.getLogger(__name__)


async def run_server(settings: Settings) -> None:
    """Serve, expose metrics if configured, and shut down gracefully on SIGTERM or SIGINT."""
    server, port = create_server(settings)
    await server.start()
    if settings.ingest_metrics_port:
        start_http_server(settings.ingest_metrics_port, registry=server.metrics.registry)
    err_console.print(f"serving checkin.v1 on {settings.ingest_host}:{port}", highlight=False)
    log.info("serving", extra={"host": settings.ingest_host, "port": port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: NOT_SERVING, draining")
    await server.shutdown()


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
    data_dir: DataDirOption = None,
) -> None:
    """Run the gRPC ingest server (StreamScans, SubmitScans, health, reflection)."""
    settings = settings_for(ctx, data_dir=data_dir, ingest_host=host, ingest_port=port)
    asyncio.run(run_server(settings))
