"""DS4C Korea: do the engine's contacts of a source patient include its confirmed infectees?

Ground truth: `PatientInfo.infected_by`, links established by Korean contact tracers (a
patient id, or `#N` = the patient with global number N). Routes (`PatientRoute.csv`) give
only a date and a coordinate per visit, so:
- venue = the coordinate as published (7 decimals; a coarser ~110 m grid as a second run);
- time = day granularity. Storage keeps one person at one place at a time, so a patient's
  k-th route row of a day becomes a one-minute visit at UTC midnight + k minutes (inside the
  city's local day), and the rule set slots every visit to whole UTC days
  (`plain` + `slot_min=1440, slot_side=both, checkout=stored`): two patients at one
  coordinate on one date overlap by exactly one day, whatever their k.
Each source patient with routes is traced over the span of its route dates; for every
infectee with routes we report whether it is a contact (recall) and its rank.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from bench.realdata.report import Section, ms_percentiles, pct
from bench.realdata.workspace import EvalStore
from storage.importer import ImportOptions
from tracing.engine import Window
from tracing.rules import get_rule_set

DAY: Final = 86_400
DAY_RULES: Final[dict[str, str | int | float]] = {
    "checkout": "stored",
    "slot_min": 1440,
    "slot_side": "both",
}
GRIDS: Final = (("exact coordinate", 7), ("~110 m grid (3 decimals)", 3))
TOP_CLUSTERS: Final = 8


@dataclass(frozen=True)
class Routes:
    """Route rows that loaded: patient, day number (UTC days since epoch), lat, lon."""

    patient: list[str]
    day: list[int]
    lat: list[float]
    lon: list[float]
    rejects: Counter[str]
    rows: int


def read_routes(folder: Path) -> Routes:
    table = pcsv.read_csv(
        folder / "PatientRoute.csv",
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(
            ("patient_id", "date", "latitude", "longitude"), pa.string())),
    )  # fmt: skip
    patient, day, lat, lon = [], [], [], []
    rejects: Counter[str] = Counter()
    for p, d, la, lo in zip(
        table["patient_id"].to_pylist(),
        table["date"].to_pylist(),
        table["latitude"].to_pylist(),
        table["longitude"].to_pylist(),
        strict=True,
    ):
        try:
            when = date.fromisoformat((d or "").strip())
        except ValueError:
            rejects["date missing or not yyyy-mm-dd"] += 1
            continue
        try:
            y, x = float(la), float(lo)
        except (TypeError, ValueError):
            rejects["coordinate missing or not a number"] += 1
            continue
        if not (-90 <= y <= 90 and -180 <= x <= 180) or (y == 0 and x == 0):
            rejects["coordinate out of range (or 0, 0)"] += 1
            continue
        patient.append(str(p).strip())
        day.append((when - date(1970, 1, 1)).days)
        lat.append(y)
        lon.append(x)
    return Routes(patient, day, lat, lon, rejects, table.num_rows)


def read_links(folder: Path) -> tuple[dict[str, str], dict[str, str], Counter[str]]:
    """(infectee -> source, patient -> infection_case, link resolution counts)."""
    table = pcsv.read_csv(
        folder / "PatientInfo.csv",
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(("patient_id", "global_num", "infected_by"), pa.string()),
            strings_can_be_null=True,
        ),
    )
    pid = [str(p).strip() for p in table["patient_id"].to_pylist()]
    by_global = {
        str(g).strip(): p for p, g in zip(pid, table["global_num"].to_pylist(), strict=True) if g
    }
    cases = {
        p: (c or "(none)").strip()
        for p, c in zip(pid, table["infection_case"].to_pylist(), strict=True)
    }
    listed = set(pid)
    links: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for p, src in zip(pid, table["infected_by"].to_pylist(), strict=True):
        text = (src or "").strip()
        if not text:
            continue
        source = by_global.get(text[1:]) if text.startswith("#") else text
        if source is None or source not in listed:
            counts["source not a listed patient"] += 1
            continue
        if source == p:
            counts["infected by itself"] += 1
            continue
        counts["by global number (#N)" if text.startswith("#") else "by patient id"] += 1
        links[p] = source
    return links, cases, counts


def _write_rows(routes: Routes, decimals: int, path: Path) -> None:
    """The import file: person, venue (dense id of the rounded coordinate), t_in (epoch s)."""
    keys = [
        f"{y:.{decimals}f},{x:.{decimals}f}" for y, x in zip(routes.lat, routes.lon, strict=True)
    ]
    uniques = {k: i + 1 for i, k in enumerate(sorted(set(keys)))}
    slot: Counter[tuple[str, int]] = Counter()
    t_in = []
    for p, d in zip(routes.patient, routes.day, strict=True):
        t_in.append(d * DAY + 60 * slot[(p, d)])
        slot[(p, d)] += 1
    pq.write_table(
        pa.table({
            "person": pa.array(routes.patient, pa.string()),
            "venue": pa.array([uniques[k] for k in keys], pa.uint32()),
            "t_in": pa.array(t_in, pa.int64()),
        }),
        path,
    )  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    source: str
    infectee: str
    found: bool
    rank: int | None
    contacts: int
    same_day_venue: bool  # brute force: a shared (venue, date)
    any_day_venue: bool  # brute force: a shared venue on any date


def _evaluate(
    routes: Routes, decimals: int, links: dict[str, str], work: Path, latencies: list[float]
) -> list[Outcome]:
    path = work / f"ds4c-{decimals}.parquet"
    _write_rows(routes, decimals, path)
    keys = [
        f"{y:.{decimals}f},{x:.{decimals}f}" for y, x in zip(routes.lat, routes.lon, strict=True)
    ]
    venue_days: dict[str, set[tuple[str, int]]] = defaultdict(set)
    venues: dict[str, set[str]] = defaultdict(set)
    days: dict[str, list[int]] = defaultdict(list)
    for p, d, k in zip(routes.patient, routes.day, keys, strict=True):
        venue_days[p].add((k, d))
        venues[p].add(k)
        days[p].append(d)
    pairs = sorted((s, i) for i, s in links.items() if s in days and i in days)
    rules = get_rule_set("plain", DAY_RULES)
    outcomes = []
    with EvalStore(work / f"ds4c-store-{decimals}") as store:
        summary = store.import_file(path, ImportOptions(time_unit="s", assume_dwell_min=1))
        assert summary.rejected == 0, summary.first_rejects[:3]
        store.seal()
        engine = store.engine()
        ranked: dict[str, dict[int, int]] = {}
        for source in sorted({s for s, _ in pairs}):
            pid = int(store.person_ids([source])[0])
            window = Window(min(days[source]) * DAY, (max(days[source]) + 1) * DAY)
            started = time.perf_counter()
            result = engine.trace_case(pid, window, rules)
            latencies.append(time.perf_counter() - started)
            ranked[source] = {int(p): k + 1 for k, p in enumerate(result.table.person.tolist())}
        for source, infectee in pairs:
            rank = ranked[source].get(int(store.person_ids([infectee])[0]))
            outcomes.append(
                Outcome(
                    source,
                    infectee,
                    rank is not None,
                    rank,
                    len(ranked[source]),
                    bool(venue_days[source] & venue_days[infectee]),
                    bool(venues[source] & venues[infectee]),
                )
            )
    return outcomes


def _rank_summary(outcomes: list[Outcome]) -> str:
    ranks = [o.rank for o in outcomes if o.rank is not None]
    if not ranks:
        return "-"
    top1 = sum(r == 1 for r in ranks)
    top5 = sum(r <= 5 for r in ranks)
    return f"median {statistics.median(ranks):g}; top-1 {top1}, top-5 {top5}"


def run(folder: Path, work: Path) -> Section:
    section = Section("DS4C Korea: recall and rank of tracer-confirmed infectees")
    routes = read_routes(folder)
    links, cases, link_counts = read_links(folder)
    with_routes = set(routes.patient)
    section.add(
        f"Source: `{folder.name}`: {routes.rows:,} route rows, {len(routes.patient):,} loaded "
        f"({sum(routes.rejects.values()):,} rejected"
        + "".join(f"; {n} {r}" for r, n in sorted(routes.rejects.items()))
        + f"), {len(with_routes):,} patients with routes. `infected_by` links resolved to a "
        f"listed patient: {len(links):,}; link outcomes: "
        + ", ".join(f"{r} {n:,}" for r, n in sorted(link_counts.items()))
        + ". Pairs where source and infectee both have routes: "
        f"{sum(1 for i, s in links.items() if i in with_routes and s in with_routes):,}.",
        "",
        "Rules: `plain` with `slot_min=1440, slot_side=both, checkout=stored` (day slots); "
        "window: the source's route dates. Rank = position in the engine's ranking (score = "
        "shared days × 86,400 s, then shared visits, earliest exposure, pseudonym).",
        "",
    )
    rows = []
    per_cluster_exact: list[Outcome] = []
    for label, decimals in GRIDS:
        latencies: list[float] = []
        outcomes = _evaluate(routes, decimals, links, work, latencies)
        found = sum(o.found for o in outcomes)
        same_day = sum(o.same_day_venue for o in outcomes)
        agree = all(o.found == o.same_day_venue for o in outcomes)
        rows.append(
            [
                label,
                len({o.source for o in outcomes}),
                len(outcomes),
                f"{found} ({pct(found, len(outcomes))})",
                _rank_summary(outcomes),
                f"{statistics.median([o.contacts for o in outcomes]):g}" if outcomes else "-",
                f"{same_day} / {sum(o.any_day_venue for o in outcomes)}",
                "**yes**" if agree else "**NO**",
            ]
        )
        section.figures[f"recall_{decimals}"] = (found, len(outcomes))
        section.timings.append(
            f"{label}: one trace per source patient: {ms_percentiles(latencies)}"
        )
        if decimals == GRIDS[0][1]:
            per_cluster_exact = outcomes
    section.table(
        [
            "venue",
            "sources",
            "pairs",
            "infectees found (recall)",
            "rank of found",
            "median contacts per source",
            "brute force: same venue same day / any day",
            "found = same-day brute force",
        ],
        rows,
    )
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in per_cluster_exact:
        groups[cases.get(o.infectee, "(none)")].append(o)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    head, tail = ordered[:TOP_CLUSTERS], [o for _, g in ordered[TOP_CLUSTERS:] for o in g]
    if tail:
        head.append((f"other ({len(ordered) - TOP_CLUSTERS} clusters)", tail))
    section.add("Per cluster (`infection_case` of the infectee), exact coordinate:", "")
    section.table(
        ["cluster", "pairs", "found", "recall", "rank of found", "same venue, any day"],
        [
            [
                name,
                len(g),
                sum(o.found for o in g),
                pct(sum(o.found for o in g), len(g)),
                _rank_summary(g),
                sum(o.any_day_venue for o in g),
            ]
            for name, g in head
        ],
    )
    return section
