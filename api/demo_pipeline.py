"""The demo's pipeline: one synthetic Biên Hòa day through every real component, in order.

City → venue registry and person directory → the node `qrtrace serve` runs (ingest gRPC,
officer gRPC, HTTP) on loopback → a venue gateway streaming the day in columnar batches →
RocksDB hot store → sealed Arrow segments → the F0 registered through the officer API, its
ranked, explained F1 list (numba engine behind TraceService) checked against the city's
brute-force ground truth → ward totals from ReportService.

It returns data (`DemoReport`); `api.cli.demo` prints it. Nothing is mocked: the stores are
real files under `<data_dir>/demo/`, rebuilt on every run so the demo is repeatable.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from api.auth import Role, add_user, users_path
from api.demo_client import DemoApiResult, officer_view
from api.protos.checkin.v1 import ingest_pb2 as pb
from api.server import start_node
from ingest.auth import add_device
from ingest.client import auth_metadata, encode_batch, open_channel, stub
from ingest.node import IngestNode, tokens_path
from ingest.simulator import FleetScans, city_scans
from ingest.validation import Verdict
from storage.city_import import CityRegistration, register_city
from storage.directory import PersonDirectory
from storage.domain import LOCAL_TZ
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.settings import Settings
from storage.synthetic_city import (
    CityConfig,
    CitySummary,
    OutbreakTruth,
    person_reference,
    write_city,
)
from storage.synthetic_city.writer import OUTBREAK_JSON
from storage.venues import VenueRegistry

BATCH_SCANS = 1_000
#: contacts fetched from the officer API (the table shows the top of them)
DEMO_CONTACTS = 50
LOOPBACK = "127.0.0.1"
Step = Callable[[str], None]


@dataclass(frozen=True)
class StreamReport:
    """What the gateway sent and the server acknowledged (durably)."""

    sent: int
    #: distinct venue QR codes, each signature verified once by the server
    venues: int
    accepted: int
    duplicate: int
    rejected: int
    batches: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class DemoReport:
    """Everything the demo did and found, for printing or checking."""

    city: CitySummary
    city_dir: Path
    node_dir: Path
    day: date
    registered_venues: int
    registered_people: int
    ports: dict[str, int]
    stream: StreamReport
    sealed_segments: int
    sealed_rows: int
    case_reference: str
    case_truth_contacts: list[str]
    officer: DemoApiResult
    officer_ms: float
    seconds: float

    @property
    def contacts(self) -> list[dict[str, Any]]:
        """The ranked F1 list as the officer API returned it."""
        rows: list[dict[str, Any]] = self.officer.trace.get("contacts", [])
        return rows

    @property
    def recall(self) -> float:
        """Share of the ground-truth contacts that the API listed."""
        found = {row["person"] for row in self.contacts}
        truth = set(self.case_truth_contacts)
        return len(truth & found) / len(truth) if truth else 1.0


def demo_day(today: date | None = None) -> date:
    """Yesterday in city-local time: wholly past, well inside retention, accepted by ingest."""
    now = today or datetime.now(LOCAL_TZ).date()
    return now - timedelta(days=1)


def _scan_ids(n: int, seed: int) -> npt.NDArray[np.uint8]:
    ids = np.random.default_rng(seed).integers(0, 256, (n, 16), dtype=np.uint8)
    ids[:, 0] |= 1  # never the all-zero id
    return ids


async def stream_day(
    target: str, token: str, scans: FleetScans, codes: dict[int, str], seed: int
) -> StreamReport:
    """One venue gateway streaming the day in 1,000-scan columnar batches, acks counted.

    `codes` holds each venue's signed QR payload, printed on its poster long before anyone
    scans; the server verifies each distinct code's signature once, then caches it.
    """
    ids = _scan_ids(len(scans), seed)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "batches": 0}

    async def batches() -> AsyncIterator[pb.ScanBatch]:
        for k, lo in enumerate(range(0, len(scans), BATCH_SCANS)):
            part = slice(lo, lo + BATCH_SCANS)
            venues, index = np.unique(scans.venue[part], return_inverse=True)
            yield encode_batch(
                k,
                scan_ids=ids[part],
                times_ms=scans.t_ms[part],
                directions=scans.direction[part],
                venue_codes=[codes[v] for v in venues.tolist()],
                venue_index=index,
                person_numbers=scans.person[part],
            )

    began = time.perf_counter()
    async with open_channel(target) as channel:
        call = stub(channel).StreamScans(batches(), metadata=auth_metadata(token))
        async for ack in call:
            verdicts = np.frombuffer(ack.verdicts, np.uint8)
            counts["batches"] += 1
            counts["accepted"] += int(np.count_nonzero(verdicts == Verdict.ACCEPTED))
            counts["duplicate"] += int(np.count_nonzero(verdicts == Verdict.DUPLICATE))
            counts["rejected"] += int(
                np.count_nonzero((verdicts != Verdict.ACCEPTED) & (verdicts != Verdict.DUPLICATE))
            )
    return StreamReport(
        sent=len(scans), venues=len(codes), seconds=time.perf_counter() - began, **counts
    )


def _register_city(node_dir: Path, city_dir: Path) -> CityRegistration:
    """Venues and residents into the node's registry and directory, before it starts."""
    pseudonymiser = Pseudonymiser(load_or_create_key(node_dir / "pseudonym.key"))
    with (
        VenueRegistry(node_dir / "venues") as venues,
        PersonDirectory(node_dir / "people") as people,
    ):
        return register_city(city_dir, venues, people, pseudonymiser)


async def run_demo(settings: Settings, step: Step, *, today: date | None = None) -> DemoReport:
    """Run every stage; `step(text)` announces each one as it starts."""
    began = time.perf_counter()
    root = settings.data_dir / "demo"
    city_dir, node_dir = root / "city", root / "node"
    day = demo_day(today)
    config = CityConfig(scans=settings.demo_scans, days=1, seed=settings.demo_seed, start_date=day)

    step("generate the synthetic city")
    city = await asyncio.to_thread(write_city, config, city_dir)
    truth = OutbreakTruth.from_json(orjson.loads((city_dir / OUTBREAK_JSON).read_bytes()))

    step("register venues, residents, a venue gateway and a city admin")
    shutil.rmtree(node_dir, ignore_errors=True)
    node_settings = settings.model_copy(
        update={
            "data_dir": node_dir,
            "ingest_host": LOOPBACK,
            "ingest_port": 0,
            "api_host": LOOPBACK,
            "api_grpc_port": 0,
            "api_http_port": 0,
        }
    )
    registered = await asyncio.to_thread(_register_city, node_dir, city_dir)
    gateway_token = add_device(tokens_path(node_settings), "demo-gateway")
    admin_token = add_user(users_path(node_dir), "demo-admin", Role.ADMIN)

    step("start the node on loopback: ingest gRPC, officer gRPC and HTTP")
    # sealing is done explicitly below; retention has nothing to purge in a fresh node
    servers = await start_node(node_settings, maintenance=False, worker=False)
    ports = {
        "ingest gRPC": servers.ingest_port,
        "officer gRPC": servers.api_grpc_port,
        "HTTP": servers.http_port,
    }
    try:
        step("stream the day through the ingest API as a venue gateway")
        node = servers.ingest.node
        assert isinstance(node, IngestNode), "the demo runs one ingest process"
        scans = await asyncio.to_thread(city_scans, config)
        codes = {v: node.keyring.sign(v) for v in np.unique(scans.venue).tolist()}
        stream = await stream_day(
            f"{LOOPBACK}:{servers.ingest_port}", gateway_token, scans, codes, settings.demo_seed
        )

        step("seal the day into Arrow segments")
        sealed = await asyncio.to_thread(node.data.seal_all)

        step("register the planted F0 and fetch its F1 list and ward totals (officer API)")
        case = truth.cases[0]
        reference = str(int(person_reference(np.array([case.person]))[0]))
        t0 = time.perf_counter()
        officer = await officer_view(
            f"{LOOPBACK}:{servers.api_grpc_port}",
            admin_token,
            person=reference,
            sample_date=case.sample_date.isoformat(),
            onset_date=case.onset_date.isoformat() if case.onset_date else "",
            ward=0,
            limit=DEMO_CONTACTS,
            totals_date=day.isoformat(),
            http_base=f"http://{LOOPBACK}:{servers.http_port}",
        )
        officer_ms = (time.perf_counter() - t0) * 1000
    finally:
        await servers.shutdown()

    truth_refs = [
        str(int(r))
        for r in person_reference(np.array([c.person for c in case.contacts], dtype=np.int64))
    ]
    return DemoReport(
        city=city,
        city_dir=city_dir,
        node_dir=node_dir,
        day=day,
        registered_venues=registered.venues,
        registered_people=registered.people,
        ports=ports,
        stream=stream,
        sealed_segments=sum(len(r.entries) for r in sealed),
        sealed_rows=sum(e.rows for r in sealed for e in r.entries),
        case_reference=reference,
        case_truth_contacts=truth_refs,
        officer=officer,
        officer_ms=officer_ms,
        seconds=time.perf_counter() - began,
    )
