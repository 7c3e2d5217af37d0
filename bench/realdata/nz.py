"""NZ locations of interest: every published window parsed or rejected, then traced.

Parsing is `storage.adapters.nz_windows` (three formats, DST, every row accounted for); the
parsed instants are checked against the file's own UTC columns. The windows carry no
check-ins of other people, so they are traced as *exposure windows* (`trace_exposure`, the
"location of interest" query) against a synthetic Biên Hòa population imported through the
same importer: each NZ venue key maps to one city venue (a keyed hash, so one NZ venue is
always the same city venue), each window keeps its NZ wall-clock time of day and duration
and lands on city day (NZ date - first date) mod the city's days. This measures the query
on real window shapes (31-day ranges, midnight crossings) and checks it exactly against a
brute force; it says nothing about NZ exposure counts.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import numpy as np

from bench.realdata.report import Section, ms_percentiles, pct
from bench.realdata.workspace import EvalStore, stored_visits
from storage.adapters.nz_windows import NZ_TZ, ExposureWindow, load_windows
from storage.domain import LOCAL_TZ
from storage.importer import ImportOptions
from storage.synthetic_city import CityConfig, write_city
from tracing.engine import Window
from tracing.rules import get_rule_set

CITY: Final = CityConfig(scans=300_000, days=7, seed=2021, outbreak_cases=0)
DST_START: Final = datetime(2021, 9, 25, 14, 0, tzinfo=UTC)  # 26 Sep 02:00 NZST -> 03:00 NZDT


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _city_window(w: ExposureWindow, first: date, n_venues: int) -> tuple[int, Window]:
    digest = hashlib.blake2b(w.venue_key.encode(), digest_size=8).digest()
    venue = 1 + int.from_bytes(digest, "big") % n_venues
    local = datetime.fromtimestamp(w.start, NZ_TZ)
    day = (local.date() - first).days % CITY.days
    city_day = CITY.start_date.toordinal() + day
    start = datetime.combine(date.fromordinal(city_day), local.time(), LOCAL_TZ)
    lo = int(start.timestamp())
    return venue, Window(lo, lo + (w.end - w.start))


def run(folder: Path, work: Path) -> Section:
    section = Section("NZ locations of interest: published exposure windows")
    load = load_windows(folder / "locations-of-interest-union.csv")
    windows = load.windows
    assert load.rows == len(windows) + len(load.rejects)  # nothing dropped silently
    agree = sum(
        _iso(w.start) == w.published_start_utc and _iso(w.end) == w.published_end_utc
        for w in windows
    )
    formats = Counter(f for w in windows for f in (w.start_format, w.end_format))
    minutes = [w.minutes for w in windows]
    dst = int(DST_START.timestamp())
    section.add(
        f"Source: `{folder.name}/locations-of-interest-union.csv`: **{load.rows:,} rows: "
        f"{len(windows):,} windows loaded, {len(load.rejects):,} rejected with a reason, 0 "
        f"dropped**. Parsed instants equal the file's own `start_utc`/`end_utc` for "
        f"{agree:,} of {len(windows):,} windows.",
        "",
    )
    section.table(
        ["time format (start and end strings)", "strings"],
        [[f, f"{n:,}"] for f, n in sorted(formats.items(), key=lambda kv: (-kv[1], kv[0]))],
    )
    by_reason = Counter((r.field, r.reason) for r in load.rejects)
    section.table(
        ["rejected: field", "reason", "rows", "lines"],
        [
            [fld, reason, n, ", ".join(str(r.line) for r in load.rejects
                                       if (r.field, r.reason) == (fld, reason))]
            for (fld, reason), n in sorted(by_reason.items())
        ],
    )  # fmt: skip
    section.add(
        f"Windows: median {statistics.median(minutes):g} min, p90 "
        f"{float(np.percentile(minutes, 90)):g} min, longest {max(minutes):,.0f} min; "
        f"{sum(w.start // 86_400 != (w.end - 1) // 86_400 for w in windows):,} cross UTC "
        f"midnight; {sum(w.start < dst for w in windows):,} start before the 26 Sep 2021 DST "
        f"change (NZST, +12) and {sum(w.start >= dst for w in windows):,} after (NZDT, +13); "
        f"{sum(w.start < dst < w.end for w in windows)} span it.",
        "",
    )
    first = min(datetime.fromtimestamp(w.start, NZ_TZ).date() for w in windows)
    with EvalStore(work / "nz-city") as store:
        city_dir = work / "nz-city-files"
        write_city(CITY, city_dir)
        summary = store.import_file(city_dir / "visits", ImportOptions())
        store.seal()
        engine = store.engine()
        rules = get_rule_set("plain", {"checkout": "stored"})
        cols = stored_visits(store.parts())
        order = np.lexsort((cols["t_in"], cols["venue"]))
        venue_sorted = cols["venue"][order]
        exposed, equal, latencies = [], 0, []
        mapped = [_city_window(w, first, CITY.venues) for w in windows]
        engine.trace_exposure(mapped[0][0], mapped[0][1], rules)  # JIT outside the timings
        for venue, window in mapped:
            started = time.perf_counter()
            result = engine.trace_exposure(venue, window, rules)
            latencies.append(time.perf_counter() - started)
            lo, hi = np.searchsorted(venue_sorted, [venue, venue + 1])
            rows = order[lo:hi]
            hit = (cols["t_in"][rows] < window.hi) & (cols["t_out"][rows] > window.lo)
            truth = set(cols["person"][rows][hit].tolist())
            equal += truth == set(result.table.person.tolist())
            exposed.append(len(truth))
    section.add(
        f"Traced as exposure windows (`plain`, `checkout=stored`) against a synthetic Biên Hòa "
        f"population (seed {CITY.seed}, {CITY.days} days, {summary.loaded:,} imported visits, "
        f"{CITY.venues:,} venues): windows with at least one exposed person "
        f"{sum(e > 0 for e in exposed):,} of {len(exposed):,} "
        f"({pct(sum(e > 0 for e in exposed), len(exposed))}); exposed per window median "
        f"{statistics.median(exposed):g}, max {max(exposed):,}. Engine = brute force "
        f"(people at the venue overlapping the window) on **{equal:,} of {len(exposed):,}** "
        "windows.",
    )
    section.figures.update(rows=load.rows, loaded=len(windows), rejected=len(load.rejects),
                           utc_agree=agree, exposure_equal=(equal, len(exposed)))  # fmt: skip
    section.timings.append(f"trace_exposure per window: {ms_percentiles(latencies)}")
    return section
