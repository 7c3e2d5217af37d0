"""Sealing: scans move from the tail to segments exactly once, orphans are cleared."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storage.datadir import DataDir
from storage.records import day_bounds
from storage.sealing import due_days, segment_name
from storage.segments import Segment

from .scan_factory import DAY, random_scans


def test_seal_moves_every_scan_once_and_survives_restart(tmp_path: Path) -> None:
    with DataDir(tmp_path, n_shards=4) as data:
        data.hot.submit(random_scans(2_000, seed=1)).result()
        result = data.sealer.seal_day(DAY)
        assert result is not None
        assert result.scans == 2_000
        assert sum(e.scans for e in result.entries) == 2_000
        assert sum(e.rows for e in result.entries) == result.visits
        assert data.hot.tail_days() == []
        assert data.sealer.seal_day(DAY) is None
        data.hot.submit(random_scans(100, seed=2)).result()  # late scans: next generation
    with DataDir(tmp_path, n_shards=4) as data:
        assert len(data.hot.tail_scans(DAY)[0]) == 100
        late = data.sealer.seal_day(DAY)
        assert late is not None
        assert late.generation == 2
        for entry in data.manifest.entries:
            Segment.open(data.segment_dir, entry)
        assert sum(e.scans for e in data.manifest.entries) == 2_100


def test_orphans_from_an_interrupted_seal_are_removed(tmp_path: Path) -> None:
    DataDir(tmp_path).close()
    orphan = tmp_path / "segments" / segment_name(DAY, 1, 0)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a segment")
    (tmp_path / "segments" / "x.arrow.tmp").write_bytes(b"")
    with DataDir(tmp_path) as data:
        assert sorted(p.name for p in data.orphans_removed) == ["g0001-s00000.arrow", "x.arrow.tmp"]
        assert not orphan.exists()


def test_due_days_waits_for_the_grace_period(tmp_path: Path) -> None:
    with DataDir(tmp_path) as data:
        data.hot.submit(random_scans(10)).result()
        end = day_bounds(DAY)[1]
        assert due_days(data.hot, end + 3599, grace_s=3600) == []
        assert due_days(data.hot, end + 3600, grace_s=3600) == [DAY]
        assert np.array_equal(data.hot.tail_days(), [DAY])
