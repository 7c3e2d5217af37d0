"""Totals: exact counts of accepted scans per day × venue × category, rebuilt from the log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from storage.dedupe import Verdict
from storage.hotstore import HotStore
from storage.records import IN, ScanArray, local_day
from storage.totals import N_CATEGORY_COLS, N_WARD_ROWS, ScanTotals

from .scan_factory import DAY, random_scans


def _naive(scans: ScanArray) -> Counter[tuple[int, int, int, int]]:
    """(day, venue, category, direction) -> count, one Python row at a time."""
    out: Counter[tuple[int, int, int, int]] = Counter()
    for row in scans.tolist():
        day = int(local_day(np.array([row[3]], dtype=np.uint32))[0])
        out[(day, row[2], row[5], row[4])] += 1
    return out


def _flatten(totals: ScanTotals) -> Counter[tuple[int, int, int, int]]:
    out: Counter[tuple[int, int, int, int]] = Counter()
    for day in totals.days():
        t = totals.day(day)
        for v, c, i, o in zip(t.venue, t.category, t.check_ins, t.check_outs, strict=True):
            if i:
                out[(day, int(v), int(c), IN)] += int(i)
            if o:
                out[(day, int(v), int(c), 1)] += int(o)
    return out


def test_totals_equal_a_naive_count() -> None:
    scans = np.concatenate([random_scans(3_000, seed=1), random_scans(500, seed=2, day=DAY + 1)])
    totals = ScanTotals()
    for lo in range(0, len(scans), 700):
        totals.add(scans[lo : lo + 700])
    assert _flatten(totals) == _naive(scans)
    assert totals.daily_scans() == {DAY: 3_000, DAY + 1: 500}


def test_ward_category_table_uses_the_venue_wards() -> None:
    scans = random_scans(2_000, seed=3, venues=40)
    totals = ScanTotals()
    totals.add(scans)
    venue_ward = np.zeros(31, dtype=np.uint8)  # venues 1..30 -> ward v, 31..40 unknown
    venue_ward[1:31] = np.arange(1, 31)
    table = totals.day(DAY).by_ward_category(venue_ward)
    assert table.shape == (N_WARD_ROWS, N_CATEGORY_COLS)
    ins = scans[scans["direction"] == IN]
    expected = np.zeros_like(table)
    for venue, category in zip(ins["venue"].tolist(), ins["category"].tolist(), strict=True):
        expected[venue if venue <= 30 else 0, category] += 1
    assert np.array_equal(table, expected)
    v = int(scans["venue"][0])
    at_v = scans[scans["venue"] == v]
    assert totals.day(DAY).of_venue(v) == (
        int((at_v["direction"] == IN).sum()),
        int((at_v["direction"] != IN).sum()),
    )


def test_retries_do_not_count_twice_and_totals_survive_reopen(tmp_path: Path) -> None:
    scans = random_scans(4_000, seed=4)
    with HotStore(tmp_path / "hot", n_shards=4) as hot:
        hot.submit(scans[:3_000]).result()
        assert (hot.submit(scans[:3_000]).result() == Verdict.DUPLICATE).all()
        hot.submit(scans).result()  # 3,000 duplicates + 1,000 new
        live = _flatten(hot.totals)
    assert live == _naive(scans)
    with HotStore(tmp_path / "hot", n_shards=4) as hot:
        assert _flatten(hot.totals) == live
        hot.drop_days_before(DAY + 1, include_unsealed=True)
        assert hot.totals.days() == []
        assert hot.totals.day(DAY).scans == 0


def test_counter_tables_grow_past_their_first_size_and_stay_exact() -> None:
    """Thousands of distinct (venue, category) keys in a day: the table doubles mid-batch."""
    scans = np.concatenate(
        [random_scans(20_000, seed=5, venues=9_000), random_scans(3_000, seed=6, day=DAY + 1)]
    )
    totals = ScanTotals()
    for lo in range(0, len(scans), 6_000):
        totals.add(scans[lo : lo + 6_000])
    assert _flatten(totals) == _naive(scans)
    day = totals.day(DAY)
    keys = day.venue.astype(np.uint64) << np.uint64(8) | day.category
    assert np.all(np.diff(keys) > 0)  # sorted by (venue, category), unique
