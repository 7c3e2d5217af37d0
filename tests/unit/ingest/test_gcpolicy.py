"""calm_gc: the start-up heap leaves the collector's walks, gen 0 waits longer."""

from __future__ import annotations

import gc

from ingest.gcpolicy import GEN0_THRESHOLD, calm_gc


def test_calm_gc_freezes_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        calm_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GEN0_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
