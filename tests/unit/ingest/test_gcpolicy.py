"""calm_gc: the start-up heap leaves the collector's walks, gen 0 waits longer."""

from __future__ import annotations

import gc
import weakref

from ingest.gcpolicy import GEN0_THRESHOLD, calm_gc, settle_gc


def test_calm_gc_freezes_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        calm_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GEN0_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Node:
    other: object = None


def test_settle_gc_collects_then_freezes_what_is_left() -> None:
    before = gc.get_freeze_count()
    cycle = _Node()
    cycle.other = cycle
    dead = weakref.ref(cycle)
    del cycle  # garbage: collected, not frozen with the rest
    kept = [[i] for i in range(100)]  # alive: frozen
    try:
        settle_gc()
        assert dead() is None
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.get_count()[1:] == (0, 0)  # nothing left in the older generations
    finally:
        gc.unfreeze()
