"""Synthetic city benchmark: vectorised generation rate vs a per-row Python generator.

A script, not a timed test (figures vary by machine; nothing asserts them):

    python -m bench.bench_city --scans 10000000 --days 14 [--write DIR]

Measured in the same run on the same machine:

* `build_city` (venues, people, outbreak plan) and `iter_visit_batches` over every day, in
  scans/s, with no disk involved (the issue's target: >= 2 M scans/s on 2 cores);
* the naive baseline: the same model (home-ward choice, popularity-weighted venue, arrival
  within opening hours, lognormal dwell, sequential per person) written row by row with
  `random`, timed on a small sample and reported as scans/s;
* optionally `write_city` end to end (Parquet + JSON) into DIR, in seconds and bytes/scan.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import shutil
import time
from itertools import accumulate
from pathlib import Path

from storage.domain import CATEGORIES
from storage.synthetic_city import City, CityConfig, build_city, iter_visit_batches, write_city


def naive_day(city: City, n: int, seed: int) -> tuple[float, list[tuple[int, int, int, int]]]:
    """Per-row Python version of one day's visits (the baseline): (seconds, rows).

    Lookup tables are built first and not timed, so only the per-row work is compared.
    """
    rnd = random.Random(seed)
    people = city.people
    venues = city.venues
    users = [int(p) for p in people.person[people.app_user]]
    weights = list(accumulate(float(a) for a in people.activity[people.app_user]))
    ward_of = [int(w) for w in venues.ward]
    cat_of = [int(c) for c in venues.category]
    by_ward: dict[int, list[int]] = {}
    for i, w in enumerate(ward_of):
        by_ward.setdefault(w, []).append(i)
    cum_by_ward = {
        w: list(accumulate(float(venues.popularity[i]) for i in idx)) for w, idx in by_ward.items()
    }
    all_cum = list(accumulate(float(p) for p in venues.popularity))
    busy_until: dict[int, int] = {}
    started = time.perf_counter()
    rows: list[tuple[int, int, int, int]] = []
    while len(rows) < n:
        person = users[bisect.bisect_right(weights, rnd.random() * weights[-1])]
        home = int(people.home_ward[person])
        if rnd.random() < city.config.home_ward_share:
            idx, cum = by_ward[home], cum_by_ward[home]
            venue = idx[min(bisect.bisect_right(cum, rnd.random() * cum[-1]), len(idx) - 1)]
        else:
            venue = min(bisect.bisect_right(all_cum, rnd.random() * all_cum[-1]), len(all_cum) - 1)
        cat = CATEGORIES[cat_of[venue] - 1]
        t_in = rnd.randrange(
            cat.opens_min * 60, max(cat.closes_min * 60 - 300, cat.opens_min * 60 + 1)
        )
        t_in = max(t_in, busy_until.get(person, 0))
        dwell = int(cat.median_dwell_min * 60 * math.exp(0.55 * rnd.gauss(0.0, 1.0)))
        t_out = min(t_in + max(dwell, 120), cat.closes_min * 60)
        if t_out - t_in < 120:
            continue
        busy_until[person] = t_out + 180 + int(rnd.expovariate(1 / 600))
        rows.append((person, venue + 1, t_in, t_out))
    rows.sort(key=lambda r: r[2])
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-sample", type=int, default=50_000)
    parser.add_argument("--write", type=Path, default=None, help="also time write_city here")
    args = parser.parse_args()
    config = CityConfig(scans=args.scans, days=args.days, seed=args.seed)

    t0 = time.perf_counter()
    city = build_city(config)
    t1 = time.perf_counter()
    generated = sum(len(batch) for batch in iter_visit_batches(city, config))
    t2 = time.perf_counter()
    rate = generated / (t2 - t1)

    n = args.naive_sample
    naive_s, _ = naive_day(city, n, args.seed)
    naive_rate = n / naive_s

    print(f"config: {args.scans:,} scans, {args.days} days, seed {args.seed}")
    print(f"build_city:          {t1 - t0:6.2f} s")
    print(f"iter_visit_batches:  {t2 - t1:6.2f} s  {rate / 1e6:6.2f} M scans/s")
    print(
        f"naive per-row:       {n / naive_rate:6.2f} s  {naive_rate / 1e6:6.3f} M scans/s"
        f" ({n:,}-row sample)"
    )
    print(f"ratio vectorised / naive: {rate / naive_rate:,.0f}x")
    if args.write is not None:
        if args.write.exists():
            shutil.rmtree(args.write)
        t4 = time.perf_counter()
        summary = write_city(config, args.write)
        t5 = time.perf_counter()
        print(
            f"write_city:          {t5 - t4:6.2f} s  {summary.bytes / 1e6:,.1f} MB"
            f" ({summary.bytes / summary.scans:.1f} bytes/scan)"
        )


if __name__ == "__main__":
    main()
