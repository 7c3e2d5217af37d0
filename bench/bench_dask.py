"""Distributed tracing benchmark: a batch of F0s in process vs on 1 and 2 Dask workers.

    python -m bench.bench_dask                       # 3 M scans, 7 days, 1,000 F0s
    python -m bench.bench_dask --scans 1000000 --batch 200 --repeats 3

Data: the synthetic city (`bench.bench_trace.load`: one visit per scan, observed check-outs),
sealed as real segment files, one per local day × venue shard (16 shards), with a manifest,
in a temporary directory that the workers read themselves. The hot tail is empty (a
snapshot right after a seal).

Measured in the same run, on the same segments and cases:
- baseline: the single-process engine (`TraceEngine`, parallel kernels, all cores);
- `DistributedEngine` on a `distributed.LocalCluster` of 1 and of 2 worker processes, one
  thread each, loopback. The first batch on a cluster warms it (workers read and index their
  partitions, kernels load from the numba cache) and is reported apart; then `--repeats`
  batches are timed and the median is kept.
Two queries per mode: `trace_many` (ranked columns: F2 and clusters use it) and
`trace_cases` (full results with evidence, what an officer's worklist records). Results are
checked identical to the baseline before anything is timed. Figures are cases/s and ratios;
nothing asserts a time. Print the load average beside them: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from distributed import LocalCluster

from bench.bench_trace import load
from storage.manifest import Manifest, SegmentEntry
from storage.records import local_day
from storage.sealing import segment_name
from storage.segments import write_segment
from storage.visits import Visits
from tracing.batch import trace_cases
from tracing.dask_cluster import DaskExecutor, connect
from tracing.distributed import DistributedEngine, GroupCache, plan_partitions
from tracing.engine import BatchResult, TraceEngine, VenueInfo, Window
from tracing.index import IndexPart
from tracing.rules import RULE_SETS

RULES = RULE_SETS["vn-moh"]
N_SHARDS = 16


def seal(visits: Visits, root: Path) -> Manifest:
    """Write `visits` as day × shard segments under `root/segments` with a manifest."""
    segment_dir = root / "segments"
    manifest = Manifest(root / "manifest.json", N_SHARDS)
    days = local_day(visits.t_in)
    for day in np.unique(days).tolist():
        of_day = visits.take(days == day)
        shard = of_day.venue % N_SHARDS
        entries = []
        for s in np.unique(shard).tolist():
            part = of_day.take(shard == s).sorted_by_venue()
            name = segment_name(day, 1, s)
            entries.append(
                write_segment(
                    segment_dir,
                    name,
                    part,
                    day=day,
                    shard=s,
                    generation=1,
                    scans=len(part),
                    compression="zstd",
                )
            )
        manifest.commit(entries, day, 0)
    return manifest


def same(a: BatchResult, b: BatchResult) -> bool:
    fields = ("c_off", "person", "units", "shared", "first", "last", "high")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def load_avg() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--batch", type=int, default=1000, help="F0s per batch")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    visits, venues, start = load(args.scans, args.days, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    t = time.perf_counter()
    manifest = seal(visits, tmp)
    entries = tuple(e for e in manifest.entries if e.rows)
    print(
        f"city: {len(visits):,} visits over {args.days} days sealed as {len(entries)} "
        f"day x shard segments in {time.perf_counter() - t:.1f} s "
        f"({sum(e.bytes for e in entries) / len(visits):.1f} B/visit on disk)"
    )
    sealed = IndexPart.from_visits(visits)
    hot = IndexPart.empty()
    local = TraceEngine(lambda: [sealed, hot], venues)
    rows_per, per_visit = per_partition_bytes(tmp, entries)
    print(
        f"partition: {rows_per:,.0f} visits per shard-day on average, {per_visit:.1f} B/visit "
        f"resident on a worker = {rows_per * per_visit / 2**20:.2f} MiB per shard-day "
        f"(whole index in one process: {sealed.nbytes / 2**20:.0f} MiB)"
    )

    mid = start + (args.days // 2) * 86_400
    window = Window(mid - 2 * 86_400, mid + 2 * 86_400)  # a 4-day infectious window
    in_window = (visits.t_in >= window.lo) & (visits.t_in < window.hi)
    rng = np.random.default_rng(args.seed)
    persons = rng.choice(np.unique(visits.person[in_window]), args.batch, replace=False)
    persons = persons.astype(np.uint64)
    windows = [window] * len(persons)

    want = local.trace_many(persons, windows, RULES)
    local.trace_many(persons, windows, RULES)  # warm
    trace_cases(local, persons, windows, RULES)
    rows = [
        ("in-process engine", 0, timed(lambda: local.trace_many(persons, windows, RULES),
         args.repeats), timed(lambda: trace_cases(local, persons, windows, RULES), args.repeats),
         0.0),
    ]  # fmt: skip
    print(
        f"batch: {len(persons)} F0s, {int(np.diff(want.c_off).sum()):,} contacts; load {load_avg()}"
    )
    for n in (1, 2):
        rows.append(on_cluster(n, tmp, entries, venues, persons, windows, want, args.repeats))
    base_many, base_full = rows[0][2], rows[0][3]
    print(f"\n{'mode':<22}{'workers':>8}{'many c/s':>12}{'ratio':>8}{'full c/s':>12}"
          f"{'ratio':>8}{'warm-up s':>11}")  # fmt: skip
    for name, workers, many, full, warm in rows:
        print(
            f"{name:<22}{workers:>8}{len(persons) / many:>12,.0f}{base_many / many:>8.2f}"
            f"{len(persons) / full:>12,.0f}{base_full / full:>8.2f}{warm:>11.2f}"
        )
    if len(rows) == 3:
        print(
            f"\n2 vs 1 worker: trace_many x{rows[1][2] / rows[2][2]:.2f}, "
            f"trace_cases x{rows[1][3] / rows[2][3]:.2f}; load average now {load_avg()}"
        )


def on_cluster(  # noqa: PLR0917
    n: int,
    root: Path,
    entries: tuple[SegmentEntry, ...],
    venues: VenueInfo,
    persons: np.ndarray,
    windows: list[Window],
    want: BatchResult,
    repeats: int,
) -> tuple[str, int, float, float, float]:
    """(name, workers, trace_many s, trace_cases s, warm-up s) on a LocalCluster of `n`."""
    cache = os.environ.get("NUMBA_CACHE_DIR", "")
    with LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        executor = DaskExecutor(connect(cluster.scheduler_address, numba_cache_dir=cache))
        try:
            engine = DistributedEngine(
                lambda: (entries, IndexPart.empty()), executor,
                segment_root=str(root / "segments"), n_shards=N_SHARDS, venues=venues,
            )  # fmt: skip
            t = time.perf_counter()
            got = engine.trace_many(persons, windows, RULES)
            warm = time.perf_counter() - t
            if not same(got, want):
                raise SystemExit(f"MISMATCH: {n} workers differ from the in-process engine")
            many = timed(lambda: engine.trace_many(persons, windows, RULES), repeats)
            full = timed(lambda: trace_cases(engine, persons, windows, RULES), repeats)
        finally:
            executor.close()
    return ("LocalCluster", n, many, full, warm)


def per_partition_bytes(root: Path, entries: tuple[SegmentEntry, ...]) -> tuple[float, float]:
    """(mean visits of a shard-day partition, resident bytes per visit of a worker's part).

    A worker holds its shard-days as one part (`GroupCache`): measured on shard 0's days.
    """
    specs = plan_partitions(entries, by_day=False, hot_rows=0, hot_days=[])
    part = GroupCache().part(str(root / "segments"), [s for s in specs if s.shard == 0])
    return statistics.mean(s.rows for s in specs), part.nbytes / max(len(part), 1)


if __name__ == "__main__":
    main()
