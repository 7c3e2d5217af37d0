"""kill -9 the storage writer at random points, while writing and while sealing.

QRTRACE_CRASH_ROUNDS sets the number of kills (default 50, the CI size); the child writes
and seals concurrently and every counted kill lands while a seal is in progress and batches
are being acknowledged, so the one run covers both acceptance counts (>= 50 each). For
longer runs use `python -m tests.integration.storage_crash --rounds N DIR`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.errors import CorruptSegmentError
from storage.manifest import Manifest
from storage.segments import Segment

from .storage_crash import N_SHARDS, crash_rounds

ROUNDS = int(os.environ.get("QRTRACE_CRASH_ROUNDS", "50"))


@pytest.mark.slow
def test_kill_9_loses_nothing_duplicates_nothing_tears_nothing(tmp_path: Path) -> None:
    report = crash_rounds(tmp_path, ROUNDS, "seal", seed=1, min_seal_kills=ROUNDS)
    assert report.acked_scans > 0
    assert report.sealed_scans > 0
    assert report.kills_mid_seal >= ROUNDS
    # and the sealed result is still guarded: damage is detected, naming the file
    manifest = Manifest(tmp_path / "manifest.json", N_SHARDS)
    flipped, truncated = [e for e in manifest.entries if e.rows][:2]
    for entry, damage in ((flipped, "flip"), (truncated, "truncate")):
        path = tmp_path / "segments" / entry.file
        data = bytearray(path.read_bytes())
        if damage == "flip":
            data[len(data) // 3] ^= 0x01
        else:
            del data[-1:]
        path.write_bytes(bytes(data))
        with pytest.raises(CorruptSegmentError, match=entry.file):
            Segment.open(tmp_path / "segments", entry)
