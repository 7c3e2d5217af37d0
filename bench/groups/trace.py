"""Tracing group: single F0, exposure window, batch and clusters, engine beside DuckDB.

At each data size of the preset: the engine's index is built from the synthetic city's visits
(`bench.bench_trace.load`, the path sealed segments take) and the same visits are loaded into
DuckDB (`bench.duck`). Before anything is timed the engine's answer is checked equal to
DuckDB's on the same cases (contacts and overlap seconds, `plain` rules); a difference is a
failed check, which fails the run. Batch and clusters run at the largest size only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np

from bench.bench_trace import load
from bench.duck import DuckBaseline
from bench.results import Check, Report, Row, Stat
from bench.sizes import TARGET_SCANS, Size, adults_for
from bench.timing import repeat_s, sample_ms
from storage.domain import CITY_ADULTS, LOCAL_TZ
from storage.visits import Visits
from tracing.engine import TraceEngine, VenueInfo, Window
from tracing.graph import Case, clusters
from tracing.index import IndexPart
from tracing.rules import RULE_SETS, UNITS_PER_SECOND

PLAIN = RULE_SETS["plain"]
GROUP = "tracing"
Progress = Callable[[str], None]


@dataclass
class TraceData:
    """One data size: its visits, venues, first midnight and the engine's index over them."""

    scans: int
    days: int
    visits: Visits
    venues: VenueInfo
    start: int
    part: IndexPart

    def engine(self) -> TraceEngine:
        parts = [self.part, IndexPart.empty()]
        return TraceEngine(lambda: parts, self.venues)

    def window(self) -> Window:
        """A 4-day infectious window in the middle of the period."""
        mid = self.start + (self.days // 2) * 86_400
        return Window(mid - 2 * 86_400, mid + 2 * 86_400)

    def cases(self, n: int, seed: int) -> list[int]:
        w = self.window()
        inside = (self.visits.t_in >= w.lo) & (self.visits.t_in < w.hi)
        people = np.unique(self.visits.person[inside])
        rng = np.random.default_rng(seed)
        return [int(p) for p in rng.choice(people, min(n, len(people)), replace=False)]


def load_data(scans: int, days: int, seed: int) -> tuple[TraceData, float]:
    """The synthetic city at `scans` and the index build time in seconds."""
    adults = adults_for(scans, days)
    if adults == CITY_ADULTS:
        visits, venues, start = load(scans, days, seed)
    else:
        visits, venues, start = load(scans, days, seed, adults)  # type: ignore[call-arg]
    t = time.perf_counter()
    part = IndexPart.from_visits(visits)
    return TraceData(scans, days, visits, venues, start, part), time.perf_counter() - t


def _pairs(person: np.ndarray, units: np.ndarray) -> list[tuple[int, int]]:
    return sorted(zip(person.tolist(), (units // UNITS_PER_SECOND).tolist(), strict=True))


def _equal(
    name: str,
    items: list[int],
    got: Callable[[int], list[tuple[int, int]]],
    want: Callable[[int], list[tuple[int, int]]],
) -> Check:
    bad = [i for i in items if got(i) != sorted(want(i))]
    detail = f"{len(items) - len(bad)} of {len(items)} equal"
    if bad:
        detail += f"; first difference at {bad[0]}"
    return Check(name, not bad, detail)


def run_size(
    data: TraceData, size: Size, build_s: float, report: Report, *, seed: int, last: bool
) -> None:
    """Every tracing measurement at one data size, added to `report`."""
    n = data.scans
    label = f"{n / 1e6:g} M scans"
    engine = data.engine()
    window = data.window()
    t = time.perf_counter()
    duck = DuckBaseline(data.visits, memory_limit="9GB" if n > TARGET_SCANS else "6GB")
    load_s = time.perf_counter() - t
    report.rows.append(
        Row(GROUP, f"index build, {label}", "s", Stat.one(build_s), "DuckDB load (3 tables)",
            Stat.one(load_s), scans=n)
    )  # fmt: skip
    cases = data.cases(max(size.engine_cases, size.batch, size.cluster_cases), seed)

    def engine_pairs(p: int) -> list[tuple[int, int]]:
        table = engine.trace_case(p, window, PLAIN).table
        return _pairs(table.person, table.units)

    checked = cases[: size.duckdb_cases]
    for warm in (
        engine_pairs,
        lambda p: duck.as_loaded(p, window),
        lambda p: duck.tuned(p, window),
    ):
        warm(cases[0])  # JIT, caches
    report.checks.append(
        _equal(f"single F0 = DuckDB as loaded, {label}", checked, engine_pairs,
               lambda p: duck.as_loaded(p, window))
    )  # fmt: skip
    report.checks.append(
        _equal(f"single F0 = DuckDB tuned, {label}", checked, engine_pairs,
               lambda p: duck.tuned(p, window))
    )  # fmt: skip
    eng = Stat.of(
        sample_ms(lambda p: engine.trace_case(p, window, PLAIN), cases[: size.engine_cases])
    )
    loaded = Stat.of(sample_ms(lambda p: duck.as_loaded(p, window), checked))
    tuned = Stat.of(sample_ms(lambda p: duck.tuned(p, window), checked))
    report.rows.append(
        Row(GROUP, f"single F0 trace, {label}", "ms", eng, "DuckDB as loaded", loaded, scans=n)
    )
    report.rows.append(
        Row(GROUP, f"single F0 trace vs tuned, {label}", "ms", eng, "DuckDB tuned", tuned, scans=n)
    )
    report.series.setdefault("trace_latency", []).append(
        {"scans": n, "engine": eng.__dict__, "as_loaded": loaded.__dict__, "tuned": tuned.__dict__}
    )
    _exposure(data, engine, duck, size, report, seed=seed, label=label)
    if last:
        _batch(data, engine, duck, cases[: size.batch], report, label=label)
        _clusters(data, engine, duck, cases[: size.cluster_cases], report, label=label)
    duck.close()


def _exposure(
    data: TraceData,
    engine: TraceEngine,
    duck: DuckBaseline,
    size: Size,
    report: Report,
    *,
    seed: int,
    label: str,
) -> None:
    """Everyone at a venue within 1 h either side of a random visit's arrival."""
    rng = np.random.default_rng(seed + 1)
    picks = rng.choice(len(data.visits), size.exposures, replace=False)
    t_in = data.visits.t_in
    probes = [(int(data.visits.venue[i]), Window(int(t_in[i]) - 3600, int(t_in[i]) + 3600))
              for i in picks]  # fmt: skip
    idx = list(range(len(probes)))
    engine.trace_exposure(*probes[0], PLAIN)  # JIT

    def eng(i: int) -> list[tuple[int, int]]:
        table = engine.trace_exposure(probes[i][0], probes[i][1], PLAIN).table
        return _pairs(table.person, table.units)

    report.checks.append(
        _equal(f"exposure window = DuckDB, {label}", idx, eng,
               lambda i: duck.exposure(*probes[i], tuned=False))
    )  # fmt: skip
    e = Stat.of(sample_ms(lambda i: engine.trace_exposure(*probes[i], PLAIN), idx))
    d = Stat.of(sample_ms(lambda i: duck.exposure(*probes[i], tuned=False), idx))
    dt = Stat.of(sample_ms(lambda i: duck.exposure(*probes[i], tuned=True), idx))
    report.rows.append(
        Row(GROUP, f"exposure window (venue, 2 h), {label}", "ms", e, "DuckDB as loaded", d,
            scans=data.scans)
    )  # fmt: skip
    report.rows.append(
        Row(GROUP, f"exposure window vs tuned, {label}", "ms", e, "DuckDB tuned", dt,
            scans=data.scans)
    )  # fmt: skip


def _batch(
    data: TraceData,
    engine: TraceEngine,
    duck: DuckBaseline,
    cases: list[int],
    report: Report,
    *,
    label: str,
) -> None:
    window = data.window()
    persons = np.array(cases, dtype=np.uint64)
    windows = [window] * len(cases)
    engine.trace_many(persons, windows, PLAIN)  # warm the parallel kernels
    out = engine.trace_many(persons, windows, PLAIN)
    want = duck.batch(cases, windows)
    bad = []
    for i in range(len(cases)):
        lo, hi = int(out.c_off[i]), int(out.c_off[i + 1])
        if _pairs(out.person[lo:hi], out.units[lo:hi]) != want[i]:
            bad.append(i)
    report.checks.append(
        Check(f"batch of {len(cases)} F0s = DuckDB one query, {label}", not bad,
              f"{len(cases) - len(bad)} of {len(cases)} cases equal")
    )  # fmt: skip
    eng = Stat.of(repeat_s(lambda: engine.trace_many(persons, windows, PLAIN), 5))
    base = Stat.of(repeat_s(lambda: duck.batch(cases, windows), 3))
    report.rows.append(
        Row(GROUP, f"batch of {len(cases):,} F0s, {label}", "s", eng, "DuckDB one batch query",
            base, scans=data.scans)
    )  # fmt: skip


def _baseline_components(
    duck: DuckBaseline, cases: list[int], windows: list[Window]
) -> list[tuple[tuple[int, ...], int, tuple[int, ...]]]:
    """Clusters from DuckDB's contacts and case venues, the same graph built in networkx."""
    contacts = duck.batch(cases, windows)
    venues = duck.case_venues(cases, windows)
    graph = nx.Graph()
    for i, p in enumerate(cases):
        graph.add_node(("case", p))
        for person, _ in contacts[i]:
            graph.add_edge(("case", p), ("contact", person))
        for v in venues[i]:
            graph.add_edge(("case", p), ("venue", v))
    return _summarise(nx.connected_components(graph))


def _summarise(components: object) -> list[tuple[tuple[int, ...], int, tuple[int, ...]]]:
    out = []
    for comp in components:  # type: ignore[attr-defined]
        ids = tuple(sorted(p for kind, p in comp if kind == "case"))
        if ids:
            out.append(
                (ids, sum(1 for k, _ in comp if k == "contact"),
                 tuple(sorted(v for k, v in comp if k == "venue")))
            )  # fmt: skip
    return sorted(out)


def _clusters(
    data: TraceData,
    engine: TraceEngine,
    duck: DuckBaseline,
    cases: list[int],
    report: Report,
    *,
    label: str,
) -> None:
    window = data.window()
    sample = datetime.fromtimestamp(window.lo + 2 * 86_400, tz=LOCAL_TZ).date()
    items = [Case(p, window, sample) for p in cases]
    got = clusters(engine, items, PLAIN)
    mine = sorted(
        (tuple(sorted(int(h, 16) for h in c["case_ids"])), c["contacts"], tuple(c["venues"]))
        for c in got["components"]
    )
    want = _baseline_components(duck, cases, [window] * len(cases))
    report.checks.append(
        Check(f"clusters of {len(cases)} F0s = DuckDB + networkx, {label}", mine == want,
              f"{len(mine)} components (engine) vs {len(want)} (baseline)")
    )  # fmt: skip
    eng = Stat.of(repeat_s(lambda: clusters(engine, items, PLAIN), 3))
    base = Stat.of(repeat_s(lambda: _baseline_components(duck, cases, [window] * len(cases)), 3))
    report.rows.append(
        Row(GROUP, f"clusters of {len(cases)} F0s, {label}", "s", eng,
            "DuckDB batch + networkx", base, scans=data.scans,
            note="the engine also finds hot spots and likely sources; the baseline only "
            "the components")
    )  # fmt: skip


def run_trace(size: Size, report: Report, progress: Progress, *, seed: int = 2021) -> TraceData:
    """Every data size of the preset; batch and clusters at the 10 M target size (else the
    largest). Returns that size's data: the API group reuses it."""
    full_at = TARGET_SCANS if TARGET_SCANS in size.trace_scans else size.trace_scans[-1]
    keep: TraceData | None = None
    for scans in size.trace_scans:
        progress(f"tracing: generating {scans:,} scans")
        data, build_s = load_data(scans, size.days, seed)
        progress(f"tracing: {scans:,} scans, index built in {build_s:.1f} s; timing")
        run_size(data, size, build_s, report, seed=seed, last=scans == full_at)
        if scans == full_at:
            keep = data
        del data  # free this size before generating the next
    assert keep is not None
    return keep
