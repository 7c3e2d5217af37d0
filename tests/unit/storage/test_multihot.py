"""Merging several processes' hot stores: every unique scan once, in the view, totals and seals.

The stores are real RocksDB primaries written here (as the ingest processes would) while the
merged view reads them through secondary instances; scan ids are duplicated on purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from storage.dedupe import Verdict
from storage.hotstore import HotStore
from storage.multidata import MultiDataDir
from storage.multihot import hot_dir, process_dirs
from storage.records import day_bounds
from storage.segments import Segment

from .scan_factory import DAY, random_scans


def _segment_scan_total(data: MultiDataDir) -> int:
    return sum(e.scans for e in data.manifest.entries)


def _segment_visits(data: MultiDataDir) -> int:
    return sum(len(Segment.open(data.segment_dir, e).visits.person) for e in data.manifest.entries)


def test_layout_keeps_process_0_in_hot_and_finds_leftover_stores(tmp_path: Path) -> None:
    assert hot_dir(tmp_path, 0) == tmp_path / "hot"
    assert hot_dir(tmp_path, 2) == tmp_path / "hot-p2"
    (tmp_path / "hot-p5").mkdir()
    assert list(process_dirs(tmp_path, 2)) == [0, 1, 5]


def test_cross_process_duplicates_are_merged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = random_scans(1_000, seed=1), random_scans(500, seed=2)
    conflict = a[:3].copy()
    conflict["venue"] += 1  # same ids, other content: a buggy or hostile client
    with (
        HotStore(hot_dir(tmp_path, 0), n_shards=4) as p0,
        HotStore(hot_dir(tmp_path, 1), n_shards=4) as p1,
    ):
        assert (p0.submit(a).result() == Verdict.ACCEPTED).all()
        # the retry of `a` landed on process 1, which has never seen it: ACCEPTED there too
        assert (p1.submit(np.concatenate([a[200:], b])).result() == Verdict.ACCEPTED).all()
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:
            assert data.totals.day(DAY).scans == 1_500
            assert len(data.hot.tail_scans(DAY)[0]) == 1_500
            assert data.hot.stats().duplicates == 800
            # written after the view opened: seen at the next refresh
            assert (p1.submit(conflict).result() == Verdict.ACCEPTED).all()
            with caplog.at_level(logging.WARNING, logger="storage.multihot"):
                data.hot.refresh()
            assert data.hot.stats().conflicts == 3
            assert "kept the first" in caplog.text
            ids = data.hot.tail_scans(DAY)[0]["scan_id"]
            assert len(np.unique(ids)) == len(ids) == 1_500
            kept = data.reader.visits_at_venue(int(a["venue"][0]), *day_bounds(DAY))
            assert len(kept.person) >= 1
            [result] = data.seal_all()
            assert result.scans == 1_500
            assert data.hot.tail_days() == []
            assert _segment_scan_total(data) == 1_500
            seal_visits = _segment_visits(data)
            marks = (data.manifest.sealed_of(0)[DAY], data.manifest.sealed_of(1)[DAY])
            # a late retry of a sealed scan, on either process, is never sealed again
            p0.submit(b[:10]).result()
            p1.submit(a[:10]).result()
            data.hot.refresh()
            assert data.hot.tail_days() == []
            assert data.seal_all() == []
            assert data.totals.day(DAY).scans == 1_500
        # reopen: sealed batches come first, the seal's marks hold, nothing reappears
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:
            assert (data.manifest.sealed_of(0)[DAY], data.manifest.sealed_of(1)[DAY]) == marks
            assert data.hot.tail_days() == []
            assert data.totals.day(DAY).scans == 1_500
            assert _segment_visits(data) == seal_visits


def test_a_crash_before_the_manifest_commit_neither_loses_nor_repeats(tmp_path: Path) -> None:
    with (
        HotStore(hot_dir(tmp_path, 0), n_shards=4) as p0,
        HotStore(hot_dir(tmp_path, 1), n_shards=4) as p1,
    ):
        p0.submit(random_scans(300, seed=3)).result()
        p1.submit(random_scans(300, seed=3)[100:]).result()
        p1.submit(random_scans(200, seed=4)).result()
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:

            def crash(*_args: object) -> None:
                raise KeyboardInterrupt("kill -9 between the segment files and the manifest")

            data.manifest.commit_processes = crash  # type: ignore[method-assign]
            with pytest.raises(KeyboardInterrupt):
                data.seal_all()
            assert list(data.segment_dir.rglob("*.arrow"))  # files written, not committed
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:
            assert data.orphans_removed
            assert data.manifest.entries == []
            [result] = data.seal_all()
            assert result.scans == 500
            assert _segment_scan_total(data) == 500
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:
            assert data.hot.tail_days() == []
            assert data.seal_all() == []


def test_retention_drops_merged_days_and_rebuilds_the_index(tmp_path: Path) -> None:
    old, new, only0 = (
        random_scans(200, seed=5, day=DAY - 30),
        random_scans(100, seed=6),
        random_scans(20, seed=7),
    )
    with (
        HotStore(hot_dir(tmp_path, 0), n_shards=4) as p0,
        HotStore(hot_dir(tmp_path, 1), n_shards=4) as p1,
    ):
        p0.submit(np.concatenate([old, new, only0])).result()
        p1.submit(new).result()
        with MultiDataDir(tmp_path, 2, n_shards=4) as data:
            report = data.purge_before(DAY - 1)
            assert report.hot_scans == 200
            assert data.hot.tail_days() == [DAY]
            assert data.totals.days() == [DAY]
            # process 1 never saw `only0`: the view's rebuilt index must still know it
            assert (p1.submit(only0).result() == Verdict.ACCEPTED).all()
            data.hot.refresh()
            assert len(data.hot.tail_scans(DAY)[0]) == 120
            assert data.totals.day(DAY).scans == 120


def test_a_store_no_process_owns_any_more_is_merged_and_purged(tmp_path: Path) -> None:
    old, new = random_scans(50, seed=8, day=DAY - 30), random_scans(40, seed=9)
    with HotStore(hot_dir(tmp_path, 2), n_shards=4) as p2:  # from an earlier run with N = 3
        p2.submit(np.concatenate([old, new])).result()
    with MultiDataDir(tmp_path, 2, n_shards=4) as data:
        assert sorted(data.stores) == [0, 1, 2]
        assert data.totals.day(DAY).scans == 40
        data.purge_before(DAY - 1)
    with HotStore(hot_dir(tmp_path, 2), n_shards=4) as p2:
        assert p2.tail_days() == [DAY]


def test_the_merged_index_stays_exact_when_it_spills(tmp_path: Path) -> None:
    a, b = random_scans(1_000, seed=1), random_scans(500, seed=2)
    with (
        HotStore(hot_dir(tmp_path, 0), n_shards=4) as p0,
        HotStore(hot_dir(tmp_path, 1), n_shards=4) as p1,
    ):
        p0.submit(a).result()
        p1.submit(np.concatenate([a[200:], b])).result()
        # room for ~100 scans in memory: most of the index lives in run files
        with MultiDataDir(tmp_path, 2, n_shards=4, index_memory_bytes=72 * 100) as data:
            assert list((tmp_path / "ingest" / "index-runs").rglob("*"))
            assert data.totals.day(DAY).scans == 1_500
            assert data.hot.stats().duplicates == 800
            p1.submit(a[:300]).result()  # process 1 never had these: merged duplicates
            data.hot.refresh()
            assert len(data.hot.tail_scans(DAY)[0]) == 1_500


def test_a_process_never_reuses_a_sequence_the_manifest_marks_sealed(tmp_path: Path) -> None:
    # the log lost its last batches (power cut before their fsync) after a seal recorded them
    with HotStore(hot_dir(tmp_path, 1), n_shards=4, sealed={DAY: 41}) as p1:
        p1.submit(random_scans(10, seed=12, venues=1)).result()  # one shard: one batch
        [(seq_day, seq)] = [(d, p1.tail_scans(d)[1]) for d in p1.tail_days()]
    assert (seq_day, seq) == (DAY, 42)


def test_offline_maintenance_seals_and_purges_every_store_and_holds_them(
    tmp_path: Path,
) -> None:
    old, new, extra = (
        random_scans(60, seed=11, day=DAY - 30),
        random_scans(40, seed=12),
        random_scans(30, seed=13),
    )
    with (
        HotStore(hot_dir(tmp_path, 0), n_shards=4) as p0,
        HotStore(hot_dir(tmp_path, 1), n_shards=4) as p1,
    ):
        p0.submit(np.concatenate([old, new])).result()
        p1.submit(np.concatenate([old[:10], new[:5], extra])).result()  # retries + its own
    with MultiDataDir(tmp_path, 1, n_shards=4, offline=True) as data:
        with pytest.raises(Exception, match=r"(?i)lock"):  # no server can start meanwhile
            HotStore(hot_dir(tmp_path, 1), n_shards=4)
        assert sum(r.scans for r in data.seal_all()) == 60 + 40 + 30
        report = data.purge_before(DAY - 1)
        assert list(report.days) == [DAY - 30]
    for process in (0, 1):  # the expired day is gone from both logs, not only from the view
        with HotStore(hot_dir(tmp_path, process), n_shards=4) as store:
            assert store.tail_days() == [DAY]
    with MultiDataDir(tmp_path, 2, n_shards=4) as data:
        assert _segment_scan_total(data) == 40 + 30
        assert data.hot.tail_days() == []
