"""Foursquare NYC (TSMC2014, STAN copy): point check-ins -> assumed dwell -> every user traced.

Import is the documented `qrtrace import` mapping:
    --map person=user_id,venue=poi_id,t_in=t_minutes --time-unit min
    --time-origin 2012-04-03T00:00:00Z --assume-dwell D
for D = 30, 60, 120 minutes. Three counts of "same-venue overlapping pairs of distinct users"
are compared:
- naive: every raw row as [t, t + D) (the data set README's model: 4,361 / 8,232 / 14,969
  visit pairs), brute force on the file;
- stored: brute force over the visits storage actually built (duplicates merged, the stay
  capped at the local day's end, a person's overlapping assumed stays re-paired into a
  sequence by the visit builder);
- engine: every user traced as a case (`plain` rules with `checkout=stored`, whole data
  span), contacts unioned.
engine = stored is the exactness check (expected equal); naive vs stored is the import
model's effect, reported with its causes. A second import per dwell adds
`--cap-at-next-checkin` (a stay also ends at the user's next check-in in the file): its
stored pairs are compared with the naive model capped the same way (brute force on the raw
rows) and with the engine.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow.csv as pcsv

from bench.realdata.pairs import overlapping_pairs, unordered
from bench.realdata.report import Section, ms_percentiles, pct
from bench.realdata.workspace import EvalStore, stored_visits
from storage.importer import ImportOptions
from storage.records import day_bounds, local_day
from storage.visits import T_IN_IMPUTED, T_OUT_RULE_MASK, VisitFlag
from tracing.engine import Window
from tracing.rules import get_rule_set

ORIGIN: Final = 1_333_411_200  # 2012-04-03T00:00:00Z (the origin is not recorded upstream)
DWELLS: Final = (30, 60, 120)
#: `plain` reads stored check-outs as they are (its default replaces imputed ones by t_in +
#: the category's dwell), so the engine sees exactly the visits the brute force counts
STORED: Final[dict[str, str | int | float]] = {"checkout": "stored"}
MAPPING: Final = {"person": "user_id", "venue": "poi_id", "t_in": "t_minutes"}


def _raw(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pcsv.read_csv(folder / "checkins.csv")
    return (
        table["user_id"].to_numpy().astype(np.int64),
        table["poi_id"].to_numpy().astype(np.int64),
        ORIGIN + table["t_minutes"].to_numpy().astype(np.int64) * 60,
    )


def _engine_pairs(
    store: EvalStore, users: np.ndarray, latencies: list[float]
) -> tuple[set[tuple[int, int]], set[tuple[int, int, int]], int]:
    engine = store.engine()
    rules = get_rule_set("plain", STORED)
    ids = store.person_ids(users.tolist())
    window = Window(ORIGIN - 86_400, 2**32 - 1)
    pairs: set[tuple[int, int]] = set()
    triples: set[tuple[int, int, int]] = set()
    asymmetric = 0
    directed: set[tuple[int, int]] = set()
    engine.trace_case(int(ids[0]), window, rules)  # JIT and index build outside the timings
    for pid in ids.tolist():
        started = time.perf_counter()
        result = engine.trace_case(int(pid), window, rules)
        latencies.append(time.perf_counter() - started)
        table = result.table
        for k, contact in enumerate(table.person.tolist()):
            directed.add((pid, contact))
            pairs.add((min(pid, contact), max(pid, contact)))
            for venue in table.ev_venue[table.ev_off[k] : table.ev_off[k + 1]].tolist():
                triples.add((min(pid, contact), max(pid, contact), int(venue)))
    asymmetric = sum(1 for a, b in directed if (b, a) not in directed)
    return pairs, triples, asymmetric


def next_checkin(user: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each row's user's next check-in strictly later in the file (int64 max where none)."""
    keys = np.unique(user.astype(np.int64) * 2**32 + t)
    pos = np.searchsorted(keys, user.astype(np.int64) * 2**32 + t, side="right")
    nxt = keys[np.minimum(pos, len(keys) - 1)]
    same = (pos < len(keys)) & (nxt // 2**32 == user)
    return np.where(same, nxt % 2**32, np.iinfo(np.int64).max)


def _capped(folder: Path, work: Path, dwell: int, users: np.ndarray) -> tuple[int, int, bool, int]:
    """Import with the cap: (stored user pairs, visits, engine = stored, imputed check-ins)."""
    with EvalStore(work) as store:
        options = ImportOptions(
            columns=MAPPING,
            time_unit="min",
            time_origin=ORIGIN,
            assume_dwell_min=dwell,
            cap_at_next_checkin=True,
        )
        store.import_file(folder / "checkins.csv", options)
        store.seal()
        cols = stored_visits(store.parts())
        si, sj = overlapping_pairs(cols["venue"], cols["t_in"], cols["t_out"], cols["person"])
        stored_pairs = unordered(cols["person"][si], cols["person"][sj])
        engine_pairs, _triples, _asym = _engine_pairs(store, users, [])
    imputed = int(np.count_nonzero(cols["flags"] & T_IN_IMPUTED))
    return len(stored_pairs), len(cols["t_in"]), engine_pairs == stored_pairs, imputed


def run(folder: Path, work: Path) -> Section:
    section = Section("Foursquare NYC check-ins: co-presence at an assumed dwell")
    user, venue, t = _raw(folder)
    users = np.unique(user)
    section.add(
        f"Source: `{folder.name}/checkins.csv`, {len(user):,} check-ins, {len(users):,} users, "
        f"{len(np.unique(venue)):,} venues. Time origin 2012-04-03T00:00:00Z (not recorded "
        "upstream); city days are UTC+7 (storage's local day).",
        "",
        "Import: `qrtrace import checkins.csv --map person=user_id,venue=poi_id,t_in=t_minutes "
        "--time-unit min --time-origin 2012-04-03T00:00:00Z --assume-dwell D`. Pairs = distinct "
        "unordered user pairs with an overlap > 0 s at one venue; triples = (user pair, venue).",
        "",
    )
    rows = []
    flag_rows = []
    capped_rows = []
    after = next_checkin(user, t)
    rows_uvt = np.unique(np.stack([user, venue, t], axis=1), axis=0)
    _, per_minute = np.unique(rows_uvt[:, [0, 2]], axis=0, return_counts=True)
    same_minute = int(np.count_nonzero(per_minute > 1))
    for dwell in DWELLS:
        naive_i, naive_j = overlapping_pairs(venue, t, t + dwell * 60, user)
        naive_users = unordered(user[naive_i], user[naive_j])
        day_end = day_bounds(0)[1] + local_day(t.astype(np.uint32)).astype(np.int64) * 86_400
        cut_i, cut_j = overlapping_pairs(venue, t, np.minimum(t + dwell * 60, day_end - 1), user)
        cut_users = unordered(user[cut_i], user[cut_j])
        with EvalStore(work / f"foursquare-{dwell}") as store:
            options = ImportOptions(
                columns=MAPPING, time_unit="min", time_origin=ORIGIN, assume_dwell_min=dwell
            )
            started = time.perf_counter()
            summary = store.import_file(folder / "checkins.csv", options)
            visits_sealed = store.seal()
            load_s = time.perf_counter() - started
            cols = stored_visits(store.parts())
            si, sj = overlapping_pairs(cols["venue"], cols["t_in"], cols["t_out"], cols["person"])
            stored_pairs = unordered(cols["person"][si], cols["person"][sj])
            stored_triples = {
                (a, b, int(v))
                for (a, b), v in zip(
                    unordered_rows(cols["person"][si], cols["person"][sj]),
                    cols["venue"][si].tolist(),
                    strict=True,
                )
            }
            latencies: list[float] = []
            engine_pairs, engine_triples, asymmetric = _engine_pairs(store, users, latencies)
        capped = int(np.count_nonzero(t + dwell * 60 > day_end - 1))
        flags = Counter(
            (int(f) & T_OUT_RULE_MASK, bool(int(f) & T_IN_IMPUTED)) for f in cols["flags"].tolist()
        )
        equal = engine_pairs == stored_pairs and engine_triples == stored_triples
        rows.append(
            [
                f"{dwell} min",
                f"{len(naive_i):,}",
                f"{len(naive_users):,}",
                f"{len(cut_users):,}",
                f"{len(stored_pairs):,}",
                f"{len(engine_pairs):,}",
                f"{len(stored_triples):,} / {len(engine_triples):,}",
                "**yes**" if equal else "**NO**",
                asymmetric,
            ]
        )
        imputed_in = sum(n for (_rule, imp), n in flags.items() if imp)
        flag_rows.append(
            [
                f"{dwell} min",
                f"{summary.rows:,}",
                f"{summary.loaded:,}",
                f"{summary.duplicate:,}",
                f"{summary.rejected:,}",
                f"{capped:,}",
                f"{len(cols['t_in']):,}",
                f"{imputed_in:,} ({pct(imputed_in, len(cols['t_in']))})",
                f"{flags.get((int(VisitFlag.IMPUTED_NEXT_SCAN), False), 0):,}",
            ]
        )
        section.figures[f"pairs_{dwell}"] = {
            "naive_visit_pairs": len(naive_i),
            "naive_user_pairs": len(naive_users),
            "stored_user_pairs": len(stored_pairs),
            "engine_user_pairs": len(engine_pairs),
            "equal": equal,
        }
        started = time.perf_counter()
        cap_end = np.minimum(np.minimum(t + dwell * 60, day_end - 1), after)
        ni, nj = overlapping_pairs(venue, t, cap_end, user)
        naive_capped = unordered(user[ni], user[nj])
        n_capped, n_visits, capped_equal, capped_imputed = _capped(
            folder, work / f"foursquare-capped-{dwell}", dwell, users
        )
        capped_rows.append(
            [
                f"{dwell} min",
                f"{len(cut_users):,}",
                f"{len(stored_pairs):,}",
                f"{len(naive_capped):,}",
                f"{n_capped:,}",
                "**yes**" if capped_equal else "**NO**",
                f"{imputed_in:,} -> {capped_imputed:,} ({pct(capped_imputed, n_visits)})",
            ]
        )
        section.figures[f"pairs_{dwell}"]["capped_user_pairs"] = n_capped
        section.timings.append(
            f"D = {dwell} min, capped at the next check-in: import + seal + trace of every user "
            f"{time.perf_counter() - started:.2f} s"
        )
        section.timings.append(
            f"D = {dwell} min: import + seal {load_s:.2f} s ({visits_sealed:,} visits); "
            f"trace of each of {len(users):,} users as a case: {ms_percentiles(latencies)}"
        )
    section.table(
        [
            "assumed dwell",
            "naive visit pairs",
            "naive user pairs",
            "naive, stays cut at local midnight",
            "stored user pairs (brute force)",
            "engine user pairs",
            "(pair, venue) stored / engine",
            "engine = brute force",
            "one-way contacts",
        ],
        rows,
    )
    section.add(
        "Naive → stored: duplicate rows merge, stays are cut at the local day's end (column 4), "
        "and the rest is the visit builder re-pairing one user's overlapping assumed stays: "
        "`--assume-dwell D` gives each row IN + OUT scans, a person's scans are paired in time "
        "order, so the earlier stay is closed by the next check-in and its late OUT becomes a "
        "visit with an imputed check-in, reaching back at most the category's default dwell "
        "(60 min when unknown) and never before the user's previous scan:",
        "",
    )
    section.table(
        [
            "assumed dwell",
            "rows",
            "loaded",
            "duplicate rows",
            "rejected",
            "stays cut at local midnight",
            "visits stored",
            "visits with imputed check-in",
            "closed by next check-in",
        ],
        flag_rows,
    )
    section.add(
        "With `--cap-at-next-checkin` (storage/importer.py) an assumed stay also ends at the "
        "user's next check-in anywhere in the file, so one user's stays no longer overlap and "
        "the visit builder has nothing to re-pair; the brute force applies the same cap to "
        "the raw rows (with the local-midnight cut). What stays apart: "
        f"{same_minute:,} times a user checked in at two or more venues in one minute; "
        "storage keeps one person at one place at a time, so those are still re-paired "
        "(the imputed check-ins left below, and the last gap to the capped brute force):",
        "",
    )
    section.table(
        [
            "assumed dwell",
            "naive, cut at midnight",
            "stored (no cap)",
            "naive, cut at midnight + next check-in",
            "stored with the cap (brute force)",
            "engine = brute force (capped)",
            "visits with imputed check-in, no cap -> cap",
        ],
        capped_rows,
    )
    return section


def unordered_rows(x: np.ndarray, y: np.ndarray) -> list[tuple[int, int]]:
    """(min, max) per row, in row order."""
    return list(zip(np.minimum(x, y).tolist(), np.maximum(x, y).tolist(), strict=True))
