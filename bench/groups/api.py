"""API group: a registered F0 traced end to end over gRPC and HTTP, beside the engine alone.

The whole node runs in this process (`api.server.start_node`: ingest + officer gRPC + HTTP,
as `qrtrace serve`) over a fresh data directory holding the tracing group's city: venues
registered, people in the person directory, and the node's tracing index pointed at the
city's visits (the index sealed segments would give; `bench.bench_api` does the same).
Cases are registered F0s (sample date mid-period, default rule set), traced as a city admin
with the default page of 100 contacts. Baselines in the same run, on the same cases: the
engine alone (what the API adds: scoping, shaping, the fsync'd audit line, transport) and a
gRPC health check on the same channel (the transport floor of one round trip).
Check: each gRPC answer counts exactly the contacts the engine finds.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import grpc
import httpx
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.auth import Role, add_user, users_path
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg
from api.server import NodeServers, start_node
from api.trace_ops import window_of_case
from bench.groups.trace import TraceData
from bench.results import Check, Report, Row, Stat
from bench.sizes import Size
from bench.timing import sample_ms
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.domain import LOCAL_TZ
from storage.settings import load_settings
from storage.venues import Venue, VenueRegistry
from tracing.index import IndexPart
from tracing.rules import get_rule_set

GROUP = "api"


class _FixedIndex:
    """The node's index source, replaced by the city's prebuilt parts."""

    def __init__(self, parts: Sequence[IndexPart]) -> None:
        self._parts = list(parts)

    def parts(self) -> Sequence[IndexPart]:
        return self._parts


def _register_city(root: Path, data: TraceData) -> None:
    venues = data.venues
    with DataDir(root, sync=False) as store:
        with VenueRegistry(store.venues_path) as registry:
            registry.register_many(
                [
                    Venue(v, f"venue {v}", int(venues.ward[v]), int(venues.category[v]), data.start)
                    for v in range(1, len(venues.ward))
                ]
            )
        persons, first = np.unique(data.visits.person, return_index=True)
        with PersonDirectory(store.people_path) as people:
            people.upsert_many(
                persons, [str(p) for p in persons.tolist()], venues.ward[data.visits.venue[first]]
            )


def run_api(data: TraceData, size: Size, report: Report, progress: Callable[[str], None]) -> None:
    """Start the node over `data`, time the officer calls, stop it."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    root = tmp / "data"
    try:
        progress(f"api: registering {data.scans / 1e6:g} M scans' venues and people")
        _register_city(root, data)
        settings = load_settings(
            None, data_dir=root, ingest_port=0, api_grpc_port=0, api_http_port=0,
            log_level="WARNING",
        )  # fmt: skip
        token = add_user(users_path(root), "bench-admin", Role.ADMIN)
        loop = asyncio.new_event_loop()
        holder: dict[str, NodeServers] = {}
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            holder["node"] = loop.run_until_complete(
                start_node(settings, maintenance=False, worker=False)
            )
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        if not ready.wait(120):
            raise RuntimeError("the node did not start within 120 s")
        node = holder["node"]
        node.ctx.index = _FixedIndex([data.part, IndexPart.empty()])  # type: ignore[assignment]
        try:
            progress("api: timing gRPC and HTTP traces")
            _measure(node, token, data, size, report)
        finally:
            asyncio.run_coroutine_threadsafe(node.shutdown(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(node: NodeServers, token: str, data: TraceData, size: Size, report: Report) -> None:
    ctx = node.ctx
    window = data.window()
    sample = datetime.fromtimestamp(window.lo + 2 * 86_400, tz=LOCAL_TZ).date()
    rules = get_rule_set()
    chosen = data.cases(size.api_cases, seed=7)
    labels = []
    for p in chosen:
        case, _ = ctx.cases.register(
            person=p, ward=1, sample_date=sample, onset_date=None, external_id=None, by="bench"
        )
        labels.append(case.label)
    windows = [window_of_case(rules, ctx.cases.get(i + 1)) for i in range(len(labels))]
    engine = ctx.engine()
    md = (("authorization", f"Bearer {token}"),)
    channel = grpc.insecure_channel(f"127.0.0.1:{node.api_grpc_port}")
    stub = pbg.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
    health = health_pb2_grpc.HealthStub(channel)
    http = httpx.Client(base_url=f"http://127.0.0.1:{node.http_port}", headers=dict(md))
    idx = list(range(len(labels)))

    def engine_only(i: int) -> int:
        return len(engine.trace_case(chosen[i], windows[i], rules).table)

    def via_grpc(i: int) -> int:
        reply = stub.TraceCase(pb.TraceCaseRequest(case_id=labels[i]), metadata=md)
        return int(reply.counts.contacts)

    def via_http(i: int) -> int:
        r = http.post("/v1/trace/case", json={"case_id": labels[i]})
        r.raise_for_status()
        return int(r.json()["counts"]["contacts"])

    def floor(_i: int) -> object:
        return health.Check(health_pb2.HealthCheckRequest(service=""))

    try:
        for fn in (engine_only, via_grpc, via_http, floor):  # JIT, caches, connections
            sample_ms(fn, idx[:5])
        bad = [i for i in idx if via_grpc(i) != engine_only(i)]
        report.checks.append(
            Check(f"api: gRPC TraceCase counts = engine, {len(idx)} cases", not bad,
                  f"{len(idx) - len(bad)} of {len(idx)} equal")
        )  # fmt: skip
        eng = Stat.of(sample_ms(engine_only, idx))
        g = Stat.of(sample_ms(via_grpc, idx))
        h = Stat.of(sample_ms(via_http, idx))
        f = Stat.of(sample_ms(floor, idx))
    finally:
        channel.close()
        http.close()
    label = f"{data.scans / 1e6:g} M scans"
    report.rows += [
        Row(GROUP, f"gRPC TraceCase end to end, {label}", "ms", g, "engine alone", eng,
            scans=data.scans, note="ratio < 1: the API's cost over the engine"),
        Row(GROUP, f"HTTP POST /v1/trace/case end to end, {label}", "ms", h, "engine alone",
            eng, scans=data.scans),
        Row(GROUP, "gRPC TraceCase vs transport floor", "ms", g,
            "gRPC health check (one round trip)", f, scans=data.scans),
    ]  # fmt: skip
