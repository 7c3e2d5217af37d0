"""log_chunks: the counting-sort kernel against a plain-Python oracle (and the sort fallback)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.logchunks import _log_chunks_sorted, log_chunks
from storage.records import SECONDS_PER_DAY, ScanArray, day_bounds, local_day

from .scan_factory import DAY, random_scans


def _oracle(
    scans: ScanArray, verdicts: np.ndarray, n_shards: int
) -> tuple[list[bytes], list[tuple[int, int, int, int]]]:
    """Accepted records grouped by (day, shard) ascending, arrival order within a group."""
    groups: dict[tuple[int, int], list[bytes]] = {}
    for i in range(len(scans)):
        if verdicts[i] != 0:
            continue
        day = int(local_day(np.array([scans["t"][i]], np.uint32))[0])
        key = (day, int(scans["venue"][i]) % n_shards)
        groups.setdefault(key, []).append(scans[i : i + 1].tobytes())
    records: list[bytes] = []
    bounds = []
    for (day, shard), rows in sorted(groups.items()):
        bounds.append((day, shard, len(records), len(records) + len(rows)))
        records.extend(rows)
    return records, bounds


def _records(scans: ScanArray) -> list[bytes]:
    return [scans[i : i + 1].tobytes() for i in range(len(scans))]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400),
    n_shards=st.sampled_from([1, 3, 16, 257]),
    days=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_oracle(n: int, n_shards: int, days: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scans = random_scans(n, seed=seed % 1000, venues=500)
    scans["t"] += (rng.integers(0, days, n) * SECONDS_PER_DAY).astype(np.uint32)
    verdicts = rng.choice(np.array([0, 0, 0, 1, 2], np.uint8), n)
    got, bounds = log_chunks(scans, verdicts, n_shards)
    records, expected = _oracle(scans, verdicts, n_shards)
    assert bounds == expected
    assert _records(got) == records
    fallback, fallback_bounds = _log_chunks_sorted(scans, verdicts, n_shards)
    assert fallback_bounds == expected
    assert _records(fallback) == records


def test_days_far_apart_use_the_sort_fallback() -> None:
    scans = random_scans(50, seed=4)
    scans["t"][::2] = day_bounds(3)[0] + 5  # decades before DAY: too many keys to count
    verdicts = np.zeros(50, np.uint8)
    got, bounds = log_chunks(scans, verdicts, 16)
    records, expected = _oracle(scans, verdicts, 16)
    assert bounds == expected
    assert _records(got) == records
    assert bounds[0][0] == 3
    assert bounds[-1][0] == DAY


def test_nothing_accepted() -> None:
    scans = random_scans(10)
    got, bounds = log_chunks(scans, np.ones(10, np.uint8), 16)
    assert len(got) == 0
    assert bounds == []
