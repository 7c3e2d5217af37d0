"""Random scan batches for storage tests (deterministic per seed)."""

from __future__ import annotations

import numpy as np

from storage.records import ScanArray, day_bounds, make_scans

DAY = 19_700
DAY_START, DAY_END = day_bounds(DAY)


def random_scans(
    n: int, seed: int = 0, *, persons: int = 50, venues: int = 40, day: int = DAY
) -> ScanArray:
    rng = np.random.default_rng(seed)
    start, _ = day_bounds(day)
    return make_scans(
        rng.integers(0, 256, (n, 16), dtype=np.uint8),
        rng.integers(1, persons + 1, n, dtype=np.uint64),
        rng.integers(1, venues + 1, n, dtype=np.uint32),
        start + rng.integers(0, 86_400, n),
        direction=rng.integers(0, 2, n, dtype=np.uint8),
        category=rng.integers(0, 19, n, dtype=np.uint8),
    )
