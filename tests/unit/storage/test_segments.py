"""Segment files: round trip, person view, and corruption detection naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.errors import CorruptSegmentError
from storage.segments import Segment, write_segment
from storage.visits import Visits, build_visits

from .scan_factory import DAY, DAY_END, DAY_START, random_scans


def _visits() -> Visits:
    return build_visits(random_scans(3_000, seed=5), DAY)


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_round_trip_and_queries(tmp_path: Path, compression: str | None) -> None:
    visits = _visits()
    entry = write_segment(
        tmp_path,
        "day=1/a.arrow",
        visits,
        day=DAY,
        shard=0,
        generation=1,
        scans=3_000,
        compression=compression,  # type: ignore[arg-type]
    )
    assert not list(tmp_path.rglob("*.tmp"))
    segment = Segment.open(tmp_path, entry)
    for name in ("venue", "t_in", "t_out", "person", "flags"):
        assert np.array_equal(getattr(segment.visits, name), getattr(visits, name))
    t_lo, t_hi = DAY_START + 30_000, DAY_START + 40_000
    got = segment.at_venue(7, t_lo, t_hi)
    want = visits.take((visits.venue == 7) & (visits.t_in < t_hi) & (visits.t_out > t_lo))
    assert np.array_equal(got.t_in, want.t_in)
    assert np.array_equal(got.person, want.person)
    mine = segment.of_person(3, DAY_START, DAY_END)
    assert np.array_equal(np.sort(mine.t_in), np.sort(visits.t_in[visits.person == 3]))
    assert (np.diff(mine.t_in.astype(np.int64)) >= 0).all()
    assert entry.t_min == int(visits.t_in.min())
    assert entry.t_max == int(visits.t_out.max())


def test_flipped_byte_and_truncation_are_detected(tmp_path: Path) -> None:
    entry = write_segment(tmp_path, "s.arrow", _visits(), day=DAY, shard=0, generation=1, scans=1)
    path = tmp_path / "s.arrow"
    good = path.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptSegmentError, match=r"s\.arrow sha256"):
        Segment.open(tmp_path, entry)
    path.write_bytes(good[:-100])
    with pytest.raises(CorruptSegmentError, match=r"s\.arrow has \d+ bytes, expected"):
        Segment.open(tmp_path, entry)
    path.unlink()
    with pytest.raises(CorruptSegmentError, match="missing"):
        Segment.open(tmp_path, entry)


def test_empty_segment(tmp_path: Path) -> None:
    entry = write_segment(
        tmp_path, "e.arrow", Visits.empty(), day=DAY, shard=0, generation=1, scans=1
    )
    assert len(Segment.open(tmp_path, entry).at_venue(1, 0, 2**32 - 1)) == 0
