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
