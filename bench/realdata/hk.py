"""Hong Kong CHP building list: venue-days shared by >= 2 cases, against the published lists.

Each non-residential row says "case N visited building B, last on date D" (several dates when
the list was edited between versions: each is kept as a visit). Venues are named, not
numbered, and spelled inconsistently, so the venue is the normalised (name, district) key
(`storage.adapters.venue_keys`). Visits are day-granular like DS4C (k-th visit of a case on
a day at UTC midnight + k minutes, day-slotted rules), and a cluster is a venue-day with at
least two cases, found with `trace_exposure` over that venue and day and checked against a
brute-force group-by. The published comparison: the building list's own case count per
building (all dates), the only cluster size CHP publishes per venue in this data.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from bench.realdata.ds4c import DAY, DAY_RULES
from bench.realdata.report import Section, ms_percentiles, pct
from bench.realdata.workspace import EvalStore
from storage.adapters.venue_keys import dense_venue_ids, normalise_venue_name, venue_key
from storage.importer import ImportOptions
from tracing.engine import Window
from tracing.rules import get_rule_set

_CASE_SPLIT: Final = re.compile(r"[\s.,;/&]+")
TOP: Final = 10


def run(folder: Path, work: Path) -> Section:
    section = Section("Hong Kong buildings visited by cases: same-day venue clusters")
    table = pcsv.read_csv(
        folder / "building-case-links-union.csv",
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(
            ("case_no", "last_date_of_visit", "non_residential"), pa.string())),
    )  # fmt: skip
    outcome: Counter[str] = Counter()
    case_col, key_col, day_col = [], [], []
    published: dict[str, set[str]] = defaultdict(set)
    raw_names: dict[str, set[str]] = defaultdict(set)
    for district, name, non_res, case_no, dates in zip(
        table["district"].to_pylist(),
        table["building_name"].to_pylist(),
        table["non_residential"].to_pylist(),
        table["case_no"].to_pylist(),
        table["last_date_of_visit"].to_pylist(),
        strict=True,
    ):
        if (non_res or "").strip() != "1":
            outcome["not loaded: residential building (a home, not a visit)"] += 1
            continue
        tokens = [t for t in _CASE_SPLIT.split((case_no or "").strip()) if t]
        if not tokens or not all(t.isdigit() for t in tokens):
            outcome["rejected: case_no is not a case number"] += 1
            continue
        key = venue_key(name, district)
        if not normalise_venue_name(name):
            outcome["rejected: building name empty after normalising"] += 1
            continue
        try:
            days = sorted({(date.fromisoformat(d.strip()) - date(1970, 1, 1)).days
                           for d in (dates or "").split(";") if d.strip()})  # fmt: skip
        except ValueError:
            outcome["rejected: last_date_of_visit not yyyy-mm-dd"] += 1
            continue
        if not days:
            outcome["rejected: no date of visit"] += 1
            continue
        outcome["loaded" + (" (several cases in one cell)" if len(tokens) > 1 else "")] += 1
        if len(days) > 1:
            outcome["loaded: of which with several visit dates (list edited)"] += 1
        raw_names[key].add(f"{(name or '').strip()}|{district}")
        for case in tokens:
            published[key].add(case)
            for d in days:
                case_col.append(case)
                key_col.append(key)
                day_col.append(d)
    ids, keys = dense_venue_ids(key_col)
    slot: Counter[tuple[str, int]] = Counter()
    t_in = []
    for c, d in zip(case_col, day_col, strict=True):
        t_in.append(d * DAY + 60 * slot[(c, d)])
        slot[(c, d)] += 1
    path = work / "hk.parquet"
    pq.write_table(pa.table({"person": case_col, "venue": pa.array(ids, pa.uint32()),
                             "t_in": pa.array(t_in, pa.int64())}), path)  # fmt: skip
    truth: dict[tuple[int, int], set[str]] = defaultdict(set)
    for c, v, d in zip(case_col, ids.tolist(), day_col, strict=True):
        truth[(v, d)].add(c)
    latencies: list[float] = []
    found: dict[tuple[int, int], int] = {}
    equal = 0
    with EvalStore(work / "hk-store") as store:
        summary = store.import_file(path, ImportOptions(time_unit="s", assume_dwell_min=1))
        store.seal()
        engine = store.engine()
        rules = get_rule_set("plain", DAY_RULES)
        for (v, d), cases in sorted(truth.items()):
            started = time.perf_counter()
            result = engine.trace_exposure(v, Window(d * DAY, (d + 1) * DAY), rules)
            latencies.append(time.perf_counter() - started)
            people = set(result.table.person.tolist())
            equal += people == set(store.person_ids(sorted(cases)).tolist())
            found[(v, d)] = len(people)
    clusters = {vd: n for vd, n in found.items() if n >= 2}
    sizes = Counter(min(n, 10) for n in clusters.values())
    merged = sum(len(n) > 1 for n in raw_names.values())
    section.add(
        f"Source: `{folder.name}/building-case-links-union.csv`, {table.num_rows:,} rows:",
        "",
        *[f"- {k}: {n:,}" for k, n in sorted(outcome.items())],
        "",
        f"Venue keys: {len(keys):,} (normalised name + district; {merged:,} keys merge "
        "several published spellings, e.g. an appended Chinese name). "
        f"Imported visits: {summary.loaded:,} (duplicates {summary.duplicate:,}). "
        f"Venue-days with a case: {len(found):,}; engine = brute force on "
        f"**{equal:,} of {len(found):,}** venue-days.",
        "",
        f"**Same-day clusters (venue-days with >= 2 cases): {len(clusters):,}**, holding "
        f"{sum(clusters.values()):,} case-visits; size distribution: "
        + ", ".join(f"{'10+' if s == 10 else s}: {n:,}" for s, n in sorted(sizes.items()))
        + ".",
        "",
    )
    best: dict[int, int] = defaultdict(int)
    in_cluster: dict[int, set[str]] = defaultdict(set)
    for (v, d), n in clusters.items():
        best[v] = max(best[v], n)
        in_cluster[v] |= truth[(v, d)]
    multi = [k for k, cases in published.items() if len(cases) >= 2]
    recovered = [k for k in multi if best.get(keys.index(k) + 1, 0) >= 2]
    cases_multi = sum(len(published[k]) for k in multi)
    cases_rec = sum(len(in_cluster.get(keys.index(k) + 1, set())) for k in multi)
    section.add(
        f"Against the published building lists: {len(multi):,} buildings list >= 2 cases; "
        f"{len(recovered):,} ({pct(len(recovered), len(multi))}) contain a same-day cluster; "
        f"{cases_rec:,} of their {cases_multi:,} listed cases ({pct(cases_rec, cases_multi)}) "
        "share a day there with another case. The rest visited on different days (only the "
        "last visit date is published), which a same-time engine cannot link.",
        "",
    )
    top = sorted(multi, key=lambda k: (-len(published[k]), k))[:TOP]
    section.table(
        ["building (normalised key)", "published cases", "visit days", "largest same-day "
         "cluster", "cases in a same-day cluster"],
        [[k, len(published[k]), sum(1 for (v, _d) in truth if v == keys.index(k) + 1),
          best.get(keys.index(k) + 1, 0), len(in_cluster.get(keys.index(k) + 1, set()))]
         for k in top],
    )  # fmt: skip
    section.figures.update(clusters=len(clusters), buildings_multi=len(multi),
                           recovered=len(recovered), equal=(equal, len(found)))  # fmt: skip
    section.timings.append(f"trace_exposure per venue-day: {ms_percentiles(latencies)}")
    return section
