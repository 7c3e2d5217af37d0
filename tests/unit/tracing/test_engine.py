"""The engine over real storage (sealed segments + hot tail) of the synthetic city.

Ground truth: the city's brute-force `OutbreakTruth` (half-open overlaps of TRUE departures)
and a DuckDB SQL formulation of `plain` over the same stored visits.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from storage.datadir import DataDir
from storage.records import day_bounds, make_scans
from storage.visits import DEFAULT_DWELL_S, Visits
from tracing.engine import TraceEngine, Window, case_window, local_midnight
from tracing.errors import TraceWindowError
from tracing.f2 import f2_candidates
from tracing.graph import Case, clusters
from tracing.index import IndexSource
from tracing.rules import RULE_SETS, UNITS_PER_SECOND

from .city_data import CITY, CityStore, pseudonym

PLAIN = RULE_SETS["plain"]
CONTACT_ROLES = {"long_overlap", "no_checkout", "short_overlap", "short_before", "other_ward"}


def city_window() -> Window:
    lo = local_midnight(CITY.start_date)
    return Window(lo, lo + CITY.days * 86_400)


def test_planted_f1s_are_found_and_touching_visits_excluded(city_store: CityStore) -> None:
    for case in city_store.truth.cases:
        result = city_store.engine.trace_case(
            int(pseudonym([case.person])[0]), city_window(), PLAIN
        )
        found = {int(p) for p in result.table.person}
        for contact in case.contacts:
            if contact.role in CONTACT_ROLES:
                assert int(pseudonym([contact.person])[0]) in found, contact.role
        for person, role in case.non_contacts.items():
            assert role.startswith("touch")
            assert int(pseudonym([person])[0]) not in found, role


def test_contacts_with_scanned_checkouts_score_their_true_overlap(city_store: CityStore) -> None:
    for case in city_store.truth.cases:
        result = city_store.engine.trace_case(
            int(pseudonym([case.person])[0]), city_window(), PLAIN
        )
        score = dict(zip(result.table.person.tolist(), result.table.units.tolist(), strict=True))
        for contact in case.contacts:
            if contact.planted and all(v.has_checkout for v in contact.visits):
                got = score[int(pseudonym([contact.person])[0])] // UNITS_PER_SECOND
                assert got == contact.total_overlap_s


def _all_visits(store: CityStore) -> Visits:
    return Visits.concat(
        [
            Visits(
                np.repeat(np.arange(len(p.off) - 1), np.diff(p.off)).astype(np.uint32),
                p.t_in,
                p.t_out,
                p.person,
                p.flags,
            )
            for p in store.engine.parts()
        ]
    )


def test_plain_equals_duckdb_on_random_cases(city_store: CityStore) -> None:
    v = _all_visits(city_store)
    assert len(city_store.engine.parts()[1]) > 0, "expected a hot tail in the fixture"
    cat = city_store.venues.category[v.venue]
    con = duckdb.connect()
    con.register(
        "raw",
        {
            "venue": v.venue,
            "t_in": v.t_in.astype(np.int64),
            "t_out": v.t_out.astype(np.int64),
            "person": v.person,
            "flags": v.flags,
            "dwell": DEFAULT_DWELL_S[cat],
        },
    )
    con.execute(
        "CREATE TABLE visits AS SELECT venue, person, t_in, "
        "CASE WHEN flags & 3 = 0 THEN t_out ELSE t_in + dwell END AS t_out FROM raw"
    )
    window = city_window()
    sql = """
        WITH f AS (
            SELECT venue, greatest(t_in, $lo) AS a, least(t_out, $hi) AS b
            FROM visits WHERE person = $p AND t_in < $hi AND t_out > $lo
        )
        SELECT c.person,
               sum(least(c.t_out, f.b) - greatest(c.t_in, f.a)) AS score,
               count(*) AS shared,
               min(greatest(c.t_in, f.a)) AS first_exposure
        FROM visits c JOIN f ON c.venue = f.venue AND c.t_in < f.b AND c.t_out > f.a
        WHERE c.person <> $p
        GROUP BY c.person
        ORDER BY score DESC, shared DESC, first_exposure, c.person
    """
    rng = np.random.default_rng(3)
    cases = rng.choice(np.unique(v.person), 60, replace=False)
    compared = 0
    for p in cases.tolist():
        own = v.take(v.person == np.uint64(p))
        order = np.lexsort((own.t_in, own.venue))
        same = own.venue[order][1:] == own.venue[order][:-1]
        overlapping = same & (own.t_in[order][1:] < own.t_out[order][:-1])
        assert not overlapping.any(), "synthetic people never overlap themselves"
        want = con.execute(sql, {"p": p, "lo": window.lo, "hi": window.hi}).fetchall()
        t = city_store.engine.trace_case(p, window, PLAIN).table
        got = list(
            zip(
                t.person.tolist(),
                (t.units // UNITS_PER_SECOND).tolist(),
                t.shared.tolist(),
                t.first.tolist(),
                strict=True,
            )
        )
        assert got == [tuple(int(x) for x in row) for row in want]
        compared += 1
    assert compared >= 50


def test_f2_chain_is_found(city_store: CityStore) -> None:
    chain = city_store.truth.chain
    assert chain is not None
    f0 = int(pseudonym([chain.f0])[0])
    result = city_store.engine.trace_case(f0, city_window(), RULE_SETS["vn-moh"])
    assert int(pseudonym([chain.f1])[0]) in set(result.table.person[result.table.high].tolist())
    candidates = f2_candidates(city_store.engine, result)
    by_person = {c["person"]: c for c in candidates}
    f2 = by_person[f"p{chain.f2}"]
    assert f2["via"] == f"p{chain.f1}"
    assert f2["priority"] == "lower"


def test_json_is_stamped_and_plain_scores_are_integer_seconds(city_store: CityStore) -> None:
    case = city_store.truth.cases[0]
    result = city_store.engine.trace_case(int(pseudonym([case.person])[0]), city_window(), PLAIN)
    doc = result.to_json()
    assert doc["rules"]["name"] == "plain"
    assert doc["rules"]["version"] == "1"
    assert doc["query"]["person"] == f"p{case.person}"
    first = doc["contacts"][0]
    assert isinstance(first["score"], int)
    assert first["person"].startswith("p")
    assert set(first) >= {
        "rank", "person", "home_ward", "tier", "score", "minutes", "shared_visits",
        "first_exposure", "last_exposure", "evidence",
    }  # fmt: skip
    assert set(first["evidence"][0]) >= {
        "venue", "ward", "overlap_start", "overlap_end", "contact_checkout", "case_checkout",
        "rule",
    }  # fmt: skip
    assert len(doc["case_visits"]) == len(case.visits)


def test_clusters_link_the_planted_cases(city_store: CityStore) -> None:
    cases = [
        Case(int(pseudonym([c.person])[0]), city_window(), c.onset_date or c.sample_date)
        for c in city_store.truth.cases
    ]
    doc = clusters(city_store.engine, cases, RULE_SETS["vn-moh"], hot_spot_cases=1)
    assert doc["cases"] == len(cases)
    assert sum(len(c["cases"]) for c in doc["components"]) == len(cases)
    listed = {ref for c in doc["components"] for ref in c["cases"]}
    assert listed == {f"p{c.person}" for c in city_store.truth.cases}
    assert doc["hot_spots"]  # with N = 1 every case venue is a hot spot


def test_a_just_acked_scan_makes_a_contact_and_sealing_changes_nothing(tmp_path: Path) -> None:
    day = 19_700
    t = day_bounds(day)[0] + 10 * 3600
    scans = make_scans(
        np.arange(64, dtype=np.uint8).reshape(4, 16),
        [7, 7, 9, 9],
        [3, 3, 3, 3],
        [t, t + 3600, t + 600, t + 1200],
        direction=[0, 1, 0, 1],
        category=6,
    )
    with DataDir(tmp_path, n_shards=2, sync=False) as data:
        source = IndexSource(data.hot, data.manifest, data.segment_dir)
        engine = TraceEngine(source.parts)
        window = Window(t - 3600, t + 7200)
        assert engine.trace_case(7, window, PLAIN).table.person.tolist() == []
        data.hot.submit(scans).result()
        hot = engine.trace_case(7, window, PLAIN).table
        assert hot.person.tolist() == [9]
        assert hot.units.tolist() == [600 * UNITS_PER_SECOND]
        data.sealer.seal_day(day)
        sealed = engine.trace_case(7, window, PLAIN).table
        assert sealed.person.tolist() == [9]
        assert sealed.units.tolist() == [600 * UNITS_PER_SECOND]


def test_case_window_from_dates() -> None:
    rules = RULE_SETS["vn-moh"]
    w = case_window(rules, sample=date(2021, 9, 10), onset=date(2021, 9, 8))
    assert w.lo == local_midnight(date(2021, 9, 6))
    assert w.hi == local_midnight(date(2021, 9, 11))
    w = case_window(rules, sample=date(2021, 9, 10), isolation=date(2021, 9, 12))
    assert w.hi == local_midnight(date(2021, 9, 12) + timedelta(days=1))
    with pytest.raises(TraceWindowError, match="empty"):
        Window(5, 5)
