"""Segment files through pyarrow filesystems: a path and its file:// URI read the same table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storage.segment_fs import open_root, read_segment_table
from storage.segments import write_segment
from storage.visits import Visits


def test_a_path_and_a_file_uri_read_the_same_verified_table(tmp_path: Path) -> None:
    visits = Visits(
        np.array([1, 2], np.uint32), np.array([10, 20], np.uint32), np.array([15, 30], np.uint32),
        np.array([7, 8], np.uint64), np.zeros(2, np.uint8),
    )  # fmt: skip
    entry = write_segment(
        tmp_path, "day=1/g0001-s00000.arrow", visits, day=1, shard=0, generation=1, scans=2,
        compression="zstd",
    )  # fmt: skip
    by_path = read_segment_table(*open_root(tmp_path), entry)
    by_uri = read_segment_table(*open_root(tmp_path.resolve().as_uri()), entry)
    assert by_path.equals(by_uri)
    assert by_path.column("person").to_pylist() == [7, 8]
