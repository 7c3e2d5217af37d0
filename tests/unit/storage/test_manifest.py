"""Manifest: durable commit, reload, format and layout checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.errors import ManifestError
from storage.manifest import Manifest, SegmentEntry

ENTRY = SegmentEntry("day=1/g0001-s00000.arrow", 1, 0, 1, 10, 12, 5, 9, 100, "ab" * 32)


def test_commit_then_reload(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "manifest.json", n_shards=4)
    assert manifest.next_generation(1) == 1
    manifest.commit([ENTRY], day=1, seq_hi=41)
    again = Manifest(tmp_path / "manifest.json", n_shards=4)
    assert again.entries == [ENTRY]
    assert again.sealed == {1: 41}
    assert again.next_generation(1) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_layout_and_garbage_are_refused(tmp_path: Path) -> None:
    Manifest(tmp_path / "m.json", n_shards=4).commit([], day=1, seq_hi=0)
    with pytest.raises(ManifestError, match="n_shards=4"):
        Manifest(tmp_path / "m.json", n_shards=8)
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ManifestError, match="unreadable"):
        Manifest(tmp_path / "m.json", n_shards=4)


def test_per_process_sealed_sequences_are_durable_and_expire_with_their_day(
    tmp_path: Path,
) -> None:
    manifest = Manifest(tmp_path / "manifest.json", 4)
    manifest.commit_processes([], 10, {0: 5, 1: 7, 2: -1})  # -1: process 2 had nothing
    manifest.commit_processes([], 11, {1: 3})
    manifest.commit_processes([], 10, {1: 6})  # never lowers a mark
    again = Manifest(tmp_path / "manifest.json", 4)
    assert again.sealed_of(0) == {10: 5}
    assert again.sealed_of(1) == {10: 7, 11: 3}
    assert again.sealed_of(2) == {}
    again.drop_days_before(11)
    assert Manifest(tmp_path / "manifest.json", 4).sealed_of(1) == {11: 3}
