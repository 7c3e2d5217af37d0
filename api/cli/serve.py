"""`qrtrace serve`: run the gRPC ingest server until SIGTERM/SIGINT, then drain gracefully."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from typing import Annotated

import typer
from prometheus_client import start_http_server

from api.cli.common import DataDirOption, err_console, reports_errors, settings_for
from api.server import NodeServers, start_node
from api.supervisor import SupervisedNode, start_supervised
from ingest.errors import IngestConfigError
from ingest.loop import run
from storage.hotstore import HotStore
from storage.multihot import process_dirs
from storage.settings import Settings

log = logging.getLogger(__name__)


async def run_server(settings: Settings) -> None:
    """Serve, expose metrics if configured, and shut down gracefully on SIGTERM or SIGINT."""
    node: NodeServers | SupervisedNode
    if settings.ingest_processes > 1:
        node = await start_supervised(settings)  # each process serves its own metrics port
    else:
        refuse_leftover_stores(settings)
        node = await start_node(settings)
        if settings.ingest_metrics_port:
            start_http_server(settings.ingest_metrics_port, registry=node.ingest.metrics.registry)
    err_console.print(
        f"serving checkin.v1 on {settings.ingest_host}:{node.ingest_port}; officer API gRPC on"
        f" {settings.api_host}:{node.api_grpc_port}, HTTP on http://{settings.api_host}:"
        f"{node.http_port}",
        highlight=False,
    )
    if isinstance(node, SupervisedNode):
        pids = " ".join(f"{k}:{pid}" for k, pid in node.supervisor.pids().items())
        err_console.print(f"ingest processes (process:pid): {pids}", highlight=False)
    log.info("serving", extra={"host": settings.ingest_host, "port": node.ingest_port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: NOT_SERVING, draining")
    await node.shutdown()


def refuse_leftover_stores(settings: Settings) -> None:
    """One process serves `hot/` only: stores of a multi-process run would go unread.

    A store retention has emptied is removed instead (nothing in it to read).
    """
    extra = []
    for k, path in process_dirs(settings.data_dir, 1).items():
        if k == 0:
            continue
        with HotStore(path) as hot:
            empty = hot.stats().index_entries == 0
        if empty:
            shutil.rmtree(path)
        else:
            extra.append(k)
    if extra:
        raise IngestConfigError(
            f"{settings.data_dir} holds hot stores of ingest processes {extra} from a"
            " multi-process run; expected --processes above the highest of them (the"
            " supervisor merges and seals them; retention empties them)"
        )


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
    processes: Annotated[
        int | None,
        typer.Option(
            help="Ingest processes sharing the port, one hot store each (setting "
            "ingest_processes).",
            show_default=False,
        ),
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
        api_grpc_port=api_grpc_port, api_http_port=http_port, ingest_processes=processes,
        dask_scheduler=dask,
    )  # fmt: skip
    run(run_server(settings), settings.event_loop)
