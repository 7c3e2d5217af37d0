"""The demo's pipeline: one synthetic Biên Hòa day through every real component, in order.

City → venue registry and person directory → gRPC ingest server on loopback (the same server
`qrtrace serve` runs) → a venue gateway streaming the day in columnar batches → RocksDB hot
store → sealed Arrow segments → the numba tracing engine → ranked, explained F1 list for a
planted F0, checked against the city's brute-force ground truth → ward totals.

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

from api.cli.trace import DirectoryPeople
from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.auth import add_device
from ingest.client import auth_metadata, encode_batch, open_channel, stub
from ingest.node import IngestNode, tokens_path
from ingest.server import create_server
from ingest.simulator import FleetScans, city_scans
from ingest.validation import Verdict
from storage.city_import import register_city
from storage.domain import LOCAL_TZ, WARDS
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.records import local_day
from storage.settings import Settings
from storage.synthetic_city import (
    CityConfig,
    CitySummary,
    OutbreakTruth,
    person_reference,
    write_city,
)
from storage.synthetic_city.writer import OUTBREAK_JSON
from tracing.engine import TraceEngine, VenueInfo, case_window
from tracing.index import IndexSource
from tracing.results import TraceResult
from tracing.rules import DEFAULT_RULE_SET, get_rule_set

BATCH_SCANS = 1_000
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
    stream: StreamReport
    sealed_segments: int
    sealed_rows: int
    case_reference: str
    case_truth_contacts: list[str]
    trace: dict[str, Any]
    trace_ms: float
    ward_checkins: npt.NDArray[np.uint64]
    seconds: float

    @property
    def recall(self) -> float:
        """Share of the ground-truth contacts that the engine listed."""
        found = {row["person"] for row in self.trace["contacts"]}
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


def _engine(node: IngestNode) -> TraceEngine:
    arrays = node.venues.arrays()
    source = IndexSource(node.data.hot, node.data.manifest, node.data.segment_dir)
    return TraceEngine(
        source.parts, VenueInfo(arrays.ward, arrays.category), DirectoryPeople(node.people)
    )


async def run_demo(settings: Settings, step: Step, *, today: date | None = None) -> DemoReport:
    """Run every stage; `step(text)` announces each one as it starts."""
    began = time.perf_counter()
    root = settings.data_dir / "demo"
    city_dir, node_dir = root / "city", root / "node"
    day = demo_day(today)
    config = CityConfig(scans=settings.demo_scans, days=1, seed=settings.demo_seed, start_date=day)

    step("generate the synthetic city")
    city = await asyncio.to_thread(write_city, config, city_dir)
    truth = OutbreakTruth.from_json(_read_json(city_dir / OUTBREAK_JSON))

    step("register venues and residents")
    shutil.rmtree(node_dir, ignore_errors=True)
    node_settings = settings.model_copy(
        update={"data_dir": node_dir, "ingest_host": "127.0.0.1", "ingest_port": 0}
    )
    token = add_device(tokens_path(node_settings), "demo-gateway")
    node = IngestNode(node_settings)
    pseudonymiser = Pseudonymiser(load_or_create_key(node_dir / "pseudonym.key"))
    registered = await asyncio.to_thread(
        register_city, city_dir, node.venues, node.people, pseudonymiser
    )
    # the ingest node cached the (then empty) venue registry: reopen it over the registered one
    node.close()
    node = IngestNode(node_settings)

    step("start the gRPC ingest server on loopback and stream the day")
    server, port = create_server(node_settings, node)
    await server.start()
    try:
        scans = await asyncio.to_thread(city_scans, config)
        codes = {v: node.keyring.sign(v) for v in np.unique(scans.venue).tolist()}
        stream = await stream_day(f"127.0.0.1:{port}", token, scans, codes, settings.demo_seed)

        step("seal the day into Arrow segments")
        sealed = await asyncio.to_thread(node.data.seal_all)

        step("trace the planted F0 with the numba engine")
        case = truth.cases[0]
        reference = str(int(person_reference(np.array([case.person]))[0]))
        rules = get_rule_set(DEFAULT_RULE_SET)
        window = case_window(rules, sample=case.sample_date, onset=case.onset_date)
        engine = _engine(node)
        person_id = pseudonymiser.person_id(reference)
        engine.trace_case(person_id, window, rules)  # warm: JIT-compiled kernels load once
        t0 = time.perf_counter()
        result: TraceResult = engine.trace_case(person_id, window, rules)
        trace_ms = (time.perf_counter() - t0) * 1000
        truth_refs = [
            str(int(r))
            for r in person_reference(np.array([c.person for c in case.contacts], dtype=np.int64))
        ]

        step("ward totals")
        day_index = int(local_day(np.array([scans.t_ms[0] // 1000], dtype=np.uint32))[0])
        ward_table = node.data.totals.day(day_index).by_ward_category(node.venues.arrays().ward)
        ward_checkins = ward_table.sum(axis=1)[: len(WARDS) + 1]
        trace_json = result.to_json()
    finally:
        await server.shutdown()

    return DemoReport(
        city=city,
        city_dir=city_dir,
        node_dir=node_dir,
        day=day,
        registered_venues=registered.venues,
        registered_people=registered.people,
        stream=stream,
        sealed_segments=sum(len(r.entries) for r in sealed),
        sealed_rows=sum(e.rows for r in sealed for e in r.entries),
        case_reference=reference,
        case_truth_contacts=truth_refs,
        trace=trace_json,
        trace_ms=trace_ms,
        ward_checkins=ward_checkins,
        seconds=time.perf_counter() - began,
    )


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data
