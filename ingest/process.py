"""One ingest process of several (`ingest_processes` > 1), started by the supervisor.

Process k serves `checkin.v1` on the port every process shares (gRPC `so_reuseport`; the
kernel spreads new connections over the listening processes) and owns ONE store: its hot
log, `hot/` for k = 0 and `hot-p<k>/` otherwise (`storage.multihot.hot_dir`). Everything
else in the data directory belongs to the supervisor, which runs the officer API, seals and
purges; a process only follows it:

- venues: a RocksDB secondary of the supervisor's registry, refreshed every second, so a
  venue registered through the officer API is accepted here within about a second;
- people: first-seen references and unary scans' contact phones go to the supervisor over
  a queue (best effort: a full queue or a kill -9 drops them, never the scans), which writes
  its person directory;
- sealing: the supervisor seals merged days and commits per-process marks to the manifest;
  the process re-reads those marks now and then only to trim its in-memory tail;
- retention: the process purges its own log's expired days (only a primary can delete).

Acks keep their single-process meaning: sent only after the synced group commit of this
process's log, so a `kill -9` loses only unacknowledged batches, whose retries may land on
any process (the supervisor's merge makes that exactly-once across processes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
from prometheus_client import Gauge, start_http_server

from ingest.auth import DeviceTokens
from ingest.memory import bound_malloc_retention
from ingest.node import build_ingestor, tokens_path, venue_keys_path
from ingest.qrcode import KeyRing
from ingest.server import create_server
from storage.hotstore import HotStore
from storage.lifecycle import Closing
from storage.manifest import Manifest
from storage.multihot import hot_dir
from storage.retention import cutoff_day
from storage.settings import Settings
from storage.venues import VenueRegistry

log = logging.getLogger(__name__)
VENUE_REFRESH_S: Final = 1.0
#: the shard count `DataDir` and `MultiDataDir` open with
N_SHARDS: Final = 16


def state_dir(root: Path) -> Path:
    """Runtime files of the processes (`p<k>.json`) and their secondaries' files."""
    return Path(root) / "ingest"


def ready_file(root: Path, process: int) -> Path:
    """Written by process `process` once it serves: `{"process", "pid", "port"}`."""
    return state_dir(root) / f"p{process}.json"


#: message kinds on the people channel: first-seen references, or references with phones
PEOPLE: Final = "people"
CONTACTS: Final = "contacts"


class PeopleQueue(Protocol):
    """The supervisor's end of the people channel (a multiprocessing queue)."""

    def put_nowait(self, item: Any) -> None: ...


class QueueSink:
    """`DirectorySink` that hands new people to the supervisor; never blocks the loop."""

    def __init__(self, channel: PeopleQueue) -> None:
        self._channel = channel
        self.dropped = 0
        self.dropped_contacts = 0

    def add(self, person_ids: npt.NDArray[np.uint64], references: list[str]) -> None:
        try:
            self._channel.put_nowait(
                (PEOPLE, np.asarray(person_ids, np.uint64), list(references), None)
            )
        except queue.Full:
            self.dropped += len(references)

    def add_contacts(
        self, person_ids: npt.NDArray[np.uint64], references: list[str], phones: list[str]
    ) -> None:
        """Contact phones of stored scans, for the supervisor's `upsert_contacts`."""
        try:
            self._channel.put_nowait(
                (CONTACTS, np.asarray(person_ids, np.uint64), list(references), list(phones))
            )
        except queue.Full:
            self.dropped_contacts += len(phones)
            log.warning("people channel full: %d contact phones not recorded", len(phones))


def spill_dir(root: Path, process: int) -> Path:
    """Run files of process `process`'s exactly-once index (`index-runs/` for 0, as DataDir)."""
    return Path(root) / ("index-runs" if process == 0 else f"index-runs-p{process}")


class ProcessData(Closing):
    """This process's hot store (the part of `DataDir` an ingest server writes through)."""

    def __init__(self, root: Path, process: int, settings: Settings) -> None:
        self.root = Path(root)
        self.process = process
        self.manifest_path = self.root / "manifest.json"
        self.n_shards = N_SHARDS
        self.hot = HotStore(
            hot_dir(self.root, process),
            n_shards=N_SHARDS,
            sealed=self._marks(),
            index_capacity=settings.hot_index_capacity,
            tail_memory_bytes=settings.hot_tail_memory_mib << 20,
            index_memory_bytes=settings.hot_index_memory_mib << 20,
            spill_dir=spill_dir(self.root, process),
        )

    def _marks(self) -> dict[int, int]:
        return Manifest(self.manifest_path, self.n_shards).sealed_of(self.process)

    def follow_seals(self) -> None:
        """Trim the tail to what the supervisor has sealed of this process (memory only)."""
        known = self.hot.sealed_through()
        for day, seq in self._marks().items():
            if seq > known.get(day, -1):
                self.hot.mark_sealed(day, seq)

    def close(self) -> None:
        self.hot.close()


class ProcessNode(Closing):
    """The stores one ingest process writes or follows, and the `Ingestor` over them."""

    def __init__(self, settings: Settings, process: int, people: PeopleQueue | None) -> None:
        root = Path(settings.data_dir)
        self.settings = settings
        self.process = process
        bound_malloc_retention()  # a server process: freed arrays go back to the OS
        self.data = ProcessData(root, process, settings)
        try:
            self.venues = VenueRegistry(
                root / "venues", secondary=state_dir(root) / "secondary" / f"venues-p{process}"
            )
        except BaseException:
            self.data.close()
            raise
        self.keyring = KeyRing.load_or_create(venue_keys_path(root))
        self.tokens = DeviceTokens.load(tokens_path(settings))
        self.sink = QueueSink(people) if people is not None else None
        self.ingestor = build_ingestor(
            settings, self.data.hot, self.venues, self.keyring, self.sink, contacts=self.sink
        )
        self._stop = threading.Event()
        self._follower = threading.Thread(target=self._follow, name="follower", daemon=True)
        self._follower.start()

    def _follow(self) -> None:
        """Venues every second; sealed marks every seal interval; own retention hourly."""
        last_seal = last_purge = 0.0
        while not self._stop.wait(VENUE_REFRESH_S):
            now = time.monotonic()
            try:
                self.venues.refresh()
                if now - last_seal >= self.settings.seal_interval_s:
                    self.data.follow_seals()
                    last_seal = now
                if now - last_purge >= self.settings.purge_interval_s:
                    cutoff = cutoff_day(int(time.time()), self.settings.retention_days)
                    self.data.hot.drop_days_before(cutoff, include_unsealed=True)
                    last_purge = now
            except Exception:
                log.exception("ingest process follower round failed; retrying")

    def close(self) -> None:
        """Stop following, finish queued writes, close the stores."""
        self._stop.set()
        self._follower.join()
        self.data.close()
        self.venues.close()


def _publish(root: Path, process: int, port: int) -> None:
    path = ready_file(root, process)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"process": process, "pid": os.getpid(), "port": port}))
    os.replace(tmp, path)


async def serve_process(settings: Settings, process: int, people: PeopleQueue | None) -> None:
    """Serve until SIGTERM/SIGINT, then drain gracefully (the supervisor forwards SIGTERM)."""
    node = ProcessNode(settings, process, people)
    server, port = create_server(settings, node)
    Gauge(
        "qrtrace_ingest_process",
        "Which ingest process serves these metrics (ingest_processes > 1).",
        ["process"],
        registry=server.metrics.registry,
    ).labels(str(process)).set(1)
    if settings.ingest_metrics_port:
        start_http_server(settings.ingest_metrics_port + process, registry=server.metrics.registry)
    await server.start()
    _publish(Path(settings.data_dir), process, port)
    log.info("ingest process serving", extra={"ingest_process": process, "port": port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.shutdown()
