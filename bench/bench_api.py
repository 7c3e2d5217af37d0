"""End-to-end trace latency over the officer API (gRPC and HTTP) beside the engine alone.

    python -m bench.bench_api                 # 10 M scans, 14 days (DESIGN §9: p50 <= 5 ms)
    python -m bench.bench_api --scans 1000000 # quick

Set-up: the synthetic city (bench.bench_trace.load), its venues registered and its people
in the person directory of a fresh data directory, the whole node started (`start_node`:
ingest + officer gRPC + HTTP in one process, as `qrtrace serve`), and the node's tracing
index pointed at the city's visits built with `IndexPart.from_visits` (the code path sealed
segments take; writing 10 M scans through the hot store would only lengthen set-up). F0s
are registered cases (sample date mid-period, vn-moh window), traced as a city admin with
the default page of 100 contacts.

Measured in the same run, on the same cases, one after the other:
- engine: `TraceEngine.trace_case` alone;
- engine + shaping: plus the ward scoping, paging and the JSON document (what the API adds
  before transport);
- audit append alone (one fsync'd line, the floor every audited call pays);
- gRPC TraceCase and HTTP POST /v1/trace/case, client in this process on loopback.
Nothing asserts a time; p50/p90 and ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np

from api.audit import AuditEntry, AuditLog
from api.auth import Role, add_user, users_path
from api.inputs import TraceCaseQuery
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg
from api.server import NodeServers, start_node
from api.trace_ops import trace_case, window_of_case
from bench.bench_trace import load
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.domain import LOCAL_TZ
from storage.settings import load_settings
from storage.venues import Venue, VenueRegistry
from tracing.index import IndexPart
from tracing.rules import get_rule_set


class _FixedIndex:
    def __init__(self, parts: Sequence[IndexPart]) -> None:
        self._parts = list(parts)

    def parts(self) -> Sequence[IndexPart]:
        return self._parts


def _timed(fn: Callable[[int], object], items: list[int]) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _fmt(name: str, ms: list[float], base: float | None = None) -> str:
    p50 = statistics.median(ms)
    p90 = float(np.percentile(ms, 90))
    ratio = f"  ({p50 / base:.1f}x engine)" if base else ""
    return f"{name:<28} p50 {p50:7.3f} ms   p90 {p90:7.3f} ms{ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()

    t = time.perf_counter()
    visits, venues, start = load(args.scans, args.days, args.seed)
    part = IndexPart.from_visits(visits)
    print(f"city: {len(visits):,} scans, index built in {time.perf_counter() - t:.1f} s")
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-api-")) / "data"
    t = time.perf_counter()
    with DataDir(root, sync=False) as data:
        with VenueRegistry(data.venues_path) as registry:
            registry.register_many(
                [
                    Venue(v, f"venue {v}", int(venues.ward[v]), int(venues.category[v]), start)
                    for v in range(1, len(venues.ward))
                ]
            )
        persons = np.unique(visits.person)
        first_venue = visits.venue[np.unique(visits.person, return_index=True)[1]]
        with PersonDirectory(data.people_path) as people:
            people.upsert_many(
                persons, [str(p) for p in persons.tolist()], venues.ward[first_venue]
            )
    print(f"registered {len(venues.ward) - 1:,} venues and {len(persons):,} people "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    settings = load_settings(None, data_dir=root, ingest_port=0, api_grpc_port=0, api_http_port=0)
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

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(120)
    node = holder["node"]
    ctx = node.ctx
    ctx.index = _FixedIndex([part, IndexPart.empty()])  # type: ignore[assignment]
    try:
        _run(args, ctx=ctx, node=node, token=token, visits=visits, start=start)
    finally:
        asyncio.run_coroutine_threadsafe(node.shutdown(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)


def _run(
    args: argparse.Namespace,
    *,
    ctx: Any,
    node: NodeServers,
    token: str,
    visits: Any,
    start: int,
) -> None:
    mid = start + (args.days // 2) * 86_400
    sample = datetime.fromtimestamp(mid, tz=LOCAL_TZ).date()
    rules = get_rule_set()
    lo = mid - int(rules["days_before"]) * 86_400
    in_window = (visits.t_in >= lo) & (visits.t_in < mid + 86_400)
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(np.unique(visits.person[in_window]), args.cases, replace=False)
    labels = []
    for p in chosen.tolist():
        case, _ = ctx.cases.register(
            person=int(p), ward=1, sample_date=sample, onset_date=None, external_id=None,
            by="bench",
        )  # fmt: skip
        labels.append(case.label)
    idx = list(range(len(labels)))
    engine = ctx.engine()
    windows = [window_of_case(rules, ctx.cases.get(i + 1)) for i in idx]
    identity = ctx.auth.identify(f"Bearer {token}")
    md = (("authorization", f"Bearer {token}"),)
    channel = grpc.insecure_channel(f"127.0.0.1:{node.api_grpc_port}")
    stub = pbg.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
    http = httpx.Client(base_url=f"http://127.0.0.1:{node.http_port}", headers=dict(md))
    audit = AuditLog(Path(tempfile.mkdtemp(prefix="bench-audit-")))

    def engine_only(i: int) -> object:
        return engine.trace_case(int(chosen[i]), windows[i], rules)

    def shaped(i: int) -> object:
        return trace_case(ctx, identity, TraceCaseQuery(case_id=labels[i]), "bench")

    def audit_only(i: int) -> object:
        return audit.append(
            AuditEntry("bench", "admin", None, "TraceCase", labels[i], "bench", 100, "r")
        )

    def via_grpc(i: int) -> object:
        return stub.TraceCase(pb.TraceCaseRequest(case_id=labels[i]), metadata=md)

    def via_http(i: int) -> object:
        r = http.post("/v1/trace/case", json={"case_id": labels[i]})
        assert r.status_code == 200, r.text
        return r

    for fn in (engine_only, shaped, via_grpc, via_http):  # warm JIT, caches, connections
        _timed(fn, idx[:10])
    contacts = [len(engine_only(i).table) for i in idx]  # type: ignore[attr-defined]
    print(
        f"{len(idx)} registered cases, window {timedelta(seconds=windows[0].hi - windows[0].lo)},"
        f" median {int(np.median(contacts))} contacts a case, page of 100"
    )
    base = _timed(engine_only, idx)
    b50 = statistics.median(base)
    print(_fmt("engine only", base))
    print(_fmt("audit append (fsync)", _timed(audit_only, idx), b50))
    print(_fmt("engine + scope + JSON + audit", _timed(shaped, idx), b50))
    print(_fmt("gRPC TraceCase end to end", _timed(via_grpc, idx), b50))
    print(_fmt("HTTP /v1/trace/case e2e", _timed(via_http, idx), b50))
    audit.close()
    channel.close()
    http.close()


if __name__ == "__main__":
    main()
