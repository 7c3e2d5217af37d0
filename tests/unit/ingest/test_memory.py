"""bound_malloc_retention: applies on glibc, large freed arrays leave the process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.memory import bound_malloc_retention


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_large_arrays_are_returned_when_freed() -> None:
    assert bound_malloc_retention()
    arrays = [np.ones(2_000_000 // 8 * 3, np.uint64) for _ in range(40)]  # 40 x ~6 MiB
    peak = _rss_kib()
    del arrays
    # measured as the drop from the peak: in a long test session other pages come and go
    assert peak - _rss_kib() > 150_000
