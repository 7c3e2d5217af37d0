"""Tracing benchmark: engine single-case p50 and 1,000-F0 batch vs DuckDB, same data, same run.

    python -m bench.bench_trace                     # 10 M scans (DESIGN §9 targets)
    python -m bench.bench_trace --scans 50000000 --adults 1500000    # the 50 M run

Data: the synthetic city (`storage.synthetic_city`), one visit per scan. The engine's index is
built directly from the day batches with `IndexPart.from_visits`, the same code path the
engine uses after reading sealed segments (writing 10 M scans through the hot store and
sealer would only lengthen set-up; `tests/unit/tracing/test_engine.py` covers that path).
Every visit carries its true departure as an observed check-out (imputation is storage's
job, done once at sealing, and not part of a trace), so DuckDB and the engine see identical
intervals and no person overlaps themselves.

Baselines, measured on the same visits in the same process:
- DuckDB as loaded: the visits table in generation order, one self-join query per case;
- DuckDB tuned: the case's visits looked up first in a copy sorted by person, then a query on
  a copy sorted by (venue, t_in) restricted to those venues and time ranges (zone maps).
Results are checked equal (contact count and total overlap) before anything is timed.
Nothing asserts a time; figures and ratios are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import duckdb
import numpy as np

from bench.duck import AS_LOADED
from storage.domain import CITY_ADULTS
from storage.records import local_day
from storage.synthetic_city import CityConfig, build_city, iter_visit_batches
from storage.visits import Visits
from tracing.engine import TraceEngine, VenueInfo, Window, local_midnight
from tracing.index import IndexPart
from tracing.rules import RULE_SETS, UNITS_PER_SECOND

PLAIN = RULE_SETS["plain"]


def load(
    scans: int, days: int, seed: int, adults: int = CITY_ADULTS
) -> tuple[Visits, VenueInfo, int]:
    """Visits of the synthetic city (stored-style intervals) and the first day's midnight.

    50 M scans in 14 days need more people than Bien Hoa's adults (at most 4 scans a day
    each); the venues stay the same, so every venue is busier and every case has more
    contacts: the harder way to grow.
    """
    config = CityConfig(scans=scans, days=days, seed=seed, adults=adults)
    city = build_city(config)
    parts = [
        Visits(
            b.venue, b.t_in, b.t_out, (b.person + 1).astype(np.uint64), np.zeros(len(b), np.uint8)
        )
        for b in iter_visit_batches(city, config)
    ]
    venues = VenueInfo(
        np.r_[0, city.venues.ward].astype(np.uint8), np.r_[0, city.venues.category].astype(np.uint8)
    )
    return Visits.concat(parts), venues, local_midnight(config.start_date)


def incremental(visits: Visits, part: IndexPart, start: int, days: int) -> tuple[float, float]:
    """Seconds to merge the newest day into an index of the others (what a seal now costs
    the tracing index) and to drop the oldest day (retention); both checked against `part`."""
    last = start + (days - 1) * 86_400
    older = IndexPart.from_visits(visits.take(visits.t_in < last))
    newest = IndexPart.from_visits(visits.take(visits.t_in >= last))
    t = time.perf_counter()
    merged = older.merged(newest)
    merge_s = time.perf_counter() - t
    for name in ("off", "t_in", "t_out", "person", "flags", "maxlen", "person_order"):
        if not np.array_equal(getattr(merged, name), getattr(part, name)):
            raise SystemExit(f"MISMATCH: merged index column {name} differs from a full build")
    del older, newest, merged
    first_day = int(local_day(np.array([start], np.uint32))[0])
    t = time.perf_counter()
    trimmed = part.without_days([first_day])
    drop_s = time.perf_counter() - t
    if len(trimmed) != int((visits.t_in >= start + 86_400).sum()):
        raise SystemExit("MISMATCH: dropping the oldest day left the wrong number of visits")
    return merge_s, drop_s


def p50_ms(fn: Callable[[int], object], cases: list[int]) -> float:
    times = []
    for p in cases:
        t = time.perf_counter()
        fn(p)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--adults", type=int, default=CITY_ADULTS, help="city size (people)")
    parser.add_argument("--cases", type=int, default=500, help="single cases timed (engine)")
    parser.add_argument("--duckdb-cases", type=int, default=60, help="single cases (DuckDB)")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    t = time.perf_counter()
    visits, venues, start = load(args.scans, args.days, args.seed, args.adults)
    took = time.perf_counter() - t
    print(
        f"city: {len(visits):,} scans over {args.days} days, {args.adults:,} adults, "
        f"generated in {took:.1f} s"
    )
    t = time.perf_counter()
    part = IndexPart.from_visits(visits)
    took = time.perf_counter() - t
    print(f"index built in {took:.1f} s, {part.nbytes / len(part):.1f} B/visit resident")
    merge_s, drop_s = incremental(visits, part, start, args.days)
    print(
        f"newest day merged into the other {args.days - 1} days' index in {merge_s:.2f} s "
        f"(equal to the full build: {took / merge_s:.0f}x faster); oldest day dropped in "
        f"{drop_s:.2f} s"
    )
    parts = [part, IndexPart.empty()]
    engine = TraceEngine(lambda: parts, venues)
    mid = start + (args.days // 2) * 86_400
    window = Window(mid - 2 * 86_400, mid + 2 * 86_400)  # a 4-day infectious window
    in_window = (visits.t_in >= window.lo) & (visits.t_in < window.hi)
    rng = np.random.default_rng(args.seed)
    people = np.unique(visits.person[in_window])
    cases = rng.choice(people, max(args.cases, args.batch), replace=False).tolist()

    con = duckdb.connect()
    con.execute("SET memory_limit = '8GB'")  # the machine is shared; 50 M fits
    columns = {
        "venue": visits.venue.astype(np.int64),
        "t_in": visits.t_in.astype(np.int64),
        "t_out": visits.t_out.astype(np.int64),
        "person": visits.person,
    }
    con.register("v", columns)
    t = time.perf_counter()
    con.execute("CREATE TABLE visits AS SELECT * FROM v")
    con.execute("CREATE TABLE sorted AS SELECT * FROM v ORDER BY venue, t_in")
    con.execute("CREATE TABLE by_person AS SELECT * FROM v ORDER BY person, t_in")
    print(f"duckdb {duckdb.__version__}: tables loaded in {time.perf_counter() - t:.1f} s")
    max_len = int((visits.t_out.astype(np.int64) - visits.t_in).max())

    def engine_case(p: int) -> object:
        return engine.trace_case(p, window, PLAIN)

    def as_loaded(p: int) -> list[tuple[int, int]]:
        return con.execute(AS_LOADED, {"p": p, "lo": window.lo, "hi": window.hi}).fetchall()

    def tuned(p: int) -> list[tuple[int, int]]:
        own = con.execute(
            "SELECT venue, greatest(t_in, $lo), least(t_out, $hi) FROM by_person "
            "WHERE person = $p AND t_in < $hi AND t_out > $lo",
            {"p": p, "lo": window.lo, "hi": window.hi},
        ).fetchall()
        if not own:
            return []
        values = ", ".join(f"({v}, {a}, {b})" for v, a, b in own)
        venues_in = ", ".join(str(v) for v, _, _ in own)
        lo = min(a for _, a, _ in own) - max_len
        hi = max(b for _, _, b in own)
        return con.execute(
            f"SELECT c.person, sum(least(c.t_out, f.b) - greatest(c.t_in, f.a)) AS score "
            f"FROM sorted c JOIN (VALUES {values}) f(venue, a, b) "
            f"ON c.venue = f.venue AND c.t_in < f.b AND c.t_out > f.a "
            f"WHERE c.venue IN ({venues_in}) AND c.t_in >= {lo} AND c.t_in < {hi} "
            f"AND c.person <> {p} GROUP BY c.person ORDER BY score DESC, c.person"
        ).fetchall()

    # equality before timing (synthetic people never overlap themselves, so no merging)
    for p in cases[: args.duckdb_cases]:
        table = engine_case(p).table  # type: ignore[attr-defined]
        got = sorted(
            zip(table.person.tolist(), (table.units // UNITS_PER_SECOND).tolist(), strict=True)
        )
        for name, fn in (("as loaded", as_loaded), ("tuned", tuned)):
            want = sorted((int(a), int(b)) for a, b in fn(p))
            if got != want:
                raise SystemExit(
                    f"MISMATCH vs DuckDB {name} for case {p}: {len(got)} vs {len(want)}"
                )
    print(f"results equal to DuckDB (both forms) on {args.duckdb_cases} cases")

    for fn in (engine_case, as_loaded, tuned):  # warm-up
        fn(cases[0])
    eng = p50_ms(engine_case, cases[: args.cases])
    duck = p50_ms(as_loaded, cases[: args.duckdb_cases])
    duck_tuned = p50_ms(tuned, cases[: args.duckdb_cases])
    contacts = statistics.median(
        len(engine_case(p).table)  # type: ignore[attr-defined]
        for p in cases[:100]
    )
    print(f"single case p50 (median {contacts:.0f} contacts):")
    print(f"  engine            {eng:9.3f} ms")
    print(f"  duckdb as loaded  {duck:9.3f} ms   engine is {duck / eng:8.0f}x faster")
    print(f"  duckdb tuned      {duck_tuned:9.3f} ms   engine is {duck_tuned / eng:8.0f}x faster")
    json_ms = p50_ms(
        lambda p: engine_case(p).to_json(),  # type: ignore[attr-defined]
        cases[:100],
    )
    print(f"  engine + JSON shaping of every row (no directory look-ups): {json_ms:.3f} ms")
    page_ms = p50_ms(
        lambda p: engine_case(p).to_json_bytes(limit=50),  # type: ignore[attr-defined]
        cases[:100],
    )
    print(f"  engine + first page of 50 rows as JSON bytes (orjson): {page_ms:.3f} ms")

    batch = np.array(cases[: args.batch], dtype=np.uint64)
    windows = [window] * len(batch)
    engine.trace_many(batch, windows, PLAIN)  # warm-up (parallel kernels)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        out = engine.trace_many(batch, windows, PLAIN)
        runs.append(time.perf_counter() - t)
    one_by_one = sum(p50_ms(engine_case, [p]) for p in cases[:100]) / 100 * len(batch) / 1000
    print(
        f"batch of {len(batch):,} F0s: {statistics.median(runs):.3f} s "
        f"({len(out.person):,} contacts; one by one would take ~{one_by_one:.3f} s)"
    )


if __name__ == "__main__":
    main()
