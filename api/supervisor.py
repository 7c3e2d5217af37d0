"""`qrtrace serve --processes N`: one supervisor and N ingest processes sharing one port.

Why processes: one Python process acks at most what one interpreter can decode, check and
hand to one RocksDB writer; N processes, each with its own hot store and writer, scale with
cores (DESIGN §8). The kernel spreads connections over them (SO_REUSEPORT).

The supervisor (this process):

- reserves the ingest port first: a socket bound with SO_REUSEPORT and never listening,
  held for the node's life, so port 0 resolves to one free port that every process (and a
  restarted one) binds again, and no other program takes it while a process restarts;
- spawns the processes (`ingest.process`, "spawn" start method: a fresh interpreter, no
  forked threads), restarts one that dies (kill -9, OOM) after at most a second, forwards
  SIGTERM to each for a graceful drain, and asks the kernel to SIGTERM them should the
  supervisor itself die (PR_SET_PDEATHSIG);
- runs the officer API, the trace worker, sealing and retention over `api.merged_node`,
  whose merged view it refreshes every `REFRESH_S` (the lag before officers see a scan);
- writes the person directory from the processes' people queues (one queue per process
  incarnation: a killed writer cannot wedge another process's queue).

Each process writes `ingest/p<k>.json` (pid, port) once it serves, for operators and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import multiprocessing
import queue
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any, Final

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.logs import configure_logging
from api.merged_node import MergedNode
from api.server import OfficerServers, start_officer
from ingest.errors import IngestConfigError
from ingest.loop import run
from ingest.process import CONTACTS, ready_file, serve_process, state_dir
from ingest.server import server_credentials
from storage.settings import Settings

log = logging.getLogger(__name__)
REFRESH_S: Final = 0.25
WATCH_S: Final = 0.1
MIN_LIFETIME_S: Final = 1.0
READY_TIMEOUT_S: Final = 120.0
_PR_SET_PDEATHSIG: Final = 1


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (not listen) `host:port` with SO_REUSEPORT; the caller keeps the socket open."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise IngestConfigError(f"cannot reserve ingest port {host}:{port}: {exc}") from None
    return sock


def _child_main(settings: Settings, process: int, people: Any) -> None:
    """Entry point of an ingest process (module level: the spawn start method imports it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which drains
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    configure_logging(settings.log_level, settings.log_format)
    run(serve_process(settings, process, people), settings.event_loop)


@dataclass
class _Child:
    process: int
    proc: BaseProcess
    people: Any
    drain: threading.Thread
    started: float


class Supervisor:
    """Starts, watches and stops the ingest processes of one node."""

    def __init__(self, settings: Settings, node: MergedNode) -> None:
        self.settings = settings
        self.node = node
        self.restarts = 0
        self._mp = multiprocessing.get_context("spawn")
        self._children: dict[int, _Child] = {}
        self._stopping = False

    def start_all(self) -> None:
        """Spawn processes 0..N-1."""
        for process in range(self.settings.ingest_processes):
            self._spawn(process)

    def _spawn(self, process: int) -> None:
        ready_file(self.settings.data_dir, process).unlink(missing_ok=True)
        people = self._mp.Queue(maxsize=4096)
        proc = self._mp.Process(
            target=_child_main,
            args=(self.settings, process, people),
            name=f"qrtrace-ingest-{process}",
            daemon=False,
        )
        proc.start()
        drain = threading.Thread(
            target=self._drain_people, args=(proc, people), name=f"people-{process}", daemon=True
        )
        drain.start()
        self._children[process] = _Child(process, proc, people, drain, time.monotonic())

    def _drain_people(self, proc: BaseProcess, people: Any) -> None:
        """Hand one process incarnation's new people to the directory feed until it is gone."""
        while True:
            try:
                kind, ids, references, phones = people.get(timeout=0.5)
            except queue.Empty:
                if not proc.is_alive():
                    return
                continue
            except Exception:  # a writer killed mid-message leaves the queue unusable
                log.warning("people queue of a dead ingest process closed", exc_info=True)
                return
            if kind == CONTACTS:
                try:
                    self.node.people.upsert_contacts(ids, references, phones)
                except Exception:
                    log.exception("contact phones from ingest process %d not recorded", proc.pid)
            else:
                self.node.feed.add(ids, references)

    def pids(self) -> dict[int, int]:
        """process -> pid of its current incarnation."""
        return {k: c.proc.pid for k, c in self._children.items() if c.proc.pid is not None}

    async def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until every current process has published its ready file."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = [
                k for k, c in self._children.items() if not _published(self.settings, k, c.proc)
            ]
            if not waiting:
                return
            for k in waiting:
                if not self._children[k].proc.is_alive() and not self._stopping:
                    raise IngestConfigError(f"ingest process {k} exited during start-up")
            if time.monotonic() > deadline:
                raise IngestConfigError(f"ingest processes {waiting} not serving after {timeout}s")
            await asyncio.sleep(0.05)

    async def watch(self) -> None:
        """Restart processes that die, forever (a crash loop is slowed to one start a second)."""
        while not self._stopping:
            for process, child in list(self._children.items()):
                if child.proc.is_alive() or self._stopping:
                    continue
                try:
                    await self._restart(process, child)
                except Exception:
                    log.exception("restarting ingest process failed; retrying")
            await asyncio.sleep(WATCH_S)

    async def _restart(self, process: int, child: _Child) -> None:
        wait = MIN_LIFETIME_S - (time.monotonic() - child.started)
        if wait > 0:
            await asyncio.sleep(wait)
        if self._stopping:
            return
        child.proc.join(0)
        log.warning(
            "ingest process died; restarting",
            extra={"ingest_process": process, "exitcode": child.proc.exitcode},
        )
        self.restarts += 1
        self._spawn(process)

    async def stop(self) -> None:
        """SIGTERM every process (graceful drain), wait, then SIGKILL what is left."""
        self._stopping = True
        for child in self._children.values():
            if child.proc.is_alive() and child.proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.terminate()  # SIGTERM: the process drains and exits
        deadline = time.monotonic() + self.settings.ingest_drain_timeout_s + 10
        for child in self._children.values():
            await asyncio.to_thread(child.proc.join, max(0.0, deadline - time.monotonic()))
            if child.proc.is_alive():
                log.error(
                    "ingest process did not drain; killing", extra={"ingest_process": child.process}
                )
                child.proc.kill()
                await asyncio.to_thread(child.proc.join)
        for child in self._children.values():  # the people they sent, before the feed closes
            await asyncio.to_thread(child.drain.join, 10.0)


def _published(settings: Settings, process: int, proc: BaseProcess) -> bool:
    path = ready_file(settings.data_dir, process)
    try:
        return bool(json.loads(path.read_text())["pid"] == proc.pid)
    except (OSError, ValueError, KeyError):
        return False


@dataclass
class SupervisedNode(OfficerServers):
    """What `start_supervised` started; `shutdown()` stops it in a safe order."""

    supervisor: Supervisor
    node: MergedNode
    ingest_port: int
    reserved: socket.socket
    refresher: asyncio.Task[None]
    watcher: asyncio.Task[None]

    async def shutdown(self) -> None:
        """API and maintenance, then drain the processes, then close the stores."""
        self.watcher.cancel()
        await super().shutdown()
        await self.supervisor.stop()
        self.refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.refresher
        await asyncio.to_thread(self.node.close)
        self.reserved.close()


class _MergeCollector(Collector):
    """The supervisor's own metrics, read on each scrape (no update loop)."""

    def __init__(self, supervisor: Supervisor, node: MergedNode) -> None:
        self._supervisor = supervisor
        self._node = node

    def collect(self) -> Iterator[Metric]:
        stats = self._node.data.hot.stats()
        yield CounterMetricFamily(
            "qrtrace_ingest_merge_duplicates",
            "Scans stored by more than one ingest process, merged into one.",
            value=stats.duplicates,
        )
        yield CounterMetricFamily(
            "qrtrace_ingest_merge_conflicts",
            "Scan ids reused with other content across processes (first copy kept).",
            value=stats.conflicts,
        )
        yield CounterMetricFamily(
            "qrtrace_ingest_process_restarts",
            "Ingest processes restarted after dying.",
            value=self._supervisor.restarts,
        )
        yield GaugeMetricFamily(
            "qrtrace_ingest_merged_tail_scans",
            "Unsealed unique scans in the merged view.",
            value=stats.tail_scans,
        )


def supervisor_registry(supervisor: Supervisor, node: MergedNode) -> CollectorRegistry:
    """Registry of the supervisor's metrics (served on ingest_metrics_port + N)."""
    registry = CollectorRegistry()
    registry.register(_MergeCollector(supervisor, node))
    return registry


async def _refresh(node: MergedNode) -> None:
    """Keep the merged view within `REFRESH_S` of every process's log."""
    while True:
        try:
            await asyncio.to_thread(node.data.hot.refresh)
        except Exception:
            log.exception("merged hot view refresh failed; retrying")
        await asyncio.sleep(REFRESH_S)


async def start_supervised(
    settings: Settings, *, maintenance: bool = True, worker: bool = True
) -> SupervisedNode:
    """Reserve the port, open the supervisor's stores, start the processes and the API."""
    server_credentials(settings)  # a TLS/plaintext mistake: one clear error, not N crashes
    reserved = reserve_port(settings.ingest_host, settings.ingest_port)
    settings = settings.model_copy(update={"ingest_port": reserved.getsockname()[1]})
    state_dir(settings.data_dir).mkdir(parents=True, exist_ok=True)
    try:
        node = MergedNode(settings)
    except BaseException:
        reserved.close()
        raise
    supervisor = Supervisor(settings, node)
    supervisor.start_all()
    try:
        officer = await start_officer(settings, node, maintenance=maintenance, worker=worker)
    except BaseException:
        await supervisor.stop()
        reserved.close()
        raise
    try:
        await supervisor.wait_ready()
    except BaseException:
        await officer.shutdown()
        await supervisor.stop()
        node.close()
        reserved.close()
        raise
    if settings.ingest_metrics_port:
        start_http_server(
            settings.ingest_metrics_port + settings.ingest_processes,
            registry=supervisor_registry(supervisor, node),
        )
    servers = SupervisedNode(
        **vars(officer),
        supervisor=supervisor,
        node=node,
        ingest_port=settings.ingest_port,
        reserved=reserved,
        refresher=asyncio.create_task(_refresh(node)),
        watcher=asyncio.create_task(supervisor.watch()),
    )
    log.info(
        "supervised node serving",
        extra={
            "ingest_port": servers.ingest_port,
            "processes": settings.ingest_processes,
            "pids": {str(k): pid for k, pid in supervisor.pids().items()},
            "api_grpc_port": servers.api_grpc_port,
            "http_port": servers.http_port,
        },
    )
    return servers
