"""The kernels' stable multi-key sort equals Python's stable `sorted` exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tracing.sorting import stable_sort

KEYS = st.lists(
    st.tuples(
        st.integers(0, 2**64 - 1) | st.integers(0, 3),
        st.integers(-3, 3),
        st.integers(-3, 3),
        st.integers(-(2**62), 2**62) | st.integers(0, 2),
        st.integers(0, 2),
    ),
    max_size=80,
)


@settings(max_examples=500, deadline=None)
@given(rows=KEYS)
def test_stable_sort_equals_python_sorted(
    rows: list[tuple[int, int, int, int, int]],
) -> None:
    k0 = np.array([r[0] for r in rows], np.uint64)
    k1, k2, k3, k4 = (np.array([r[i] for r in rows], np.int64) for i in range(1, 5))
    idx = np.arange(len(rows), dtype=np.int64)
    stable_sort(idx, k0, k1, k2, k3, k4)
    assert idx.tolist() == sorted(range(len(rows)), key=lambda i: rows[i])


def test_subset_of_rows_and_repeated_keys() -> None:
    k = np.array([5, 1, 4, 1, 3, 9, 2, 6] * 5, np.int64)
    idx = np.arange(3, 37, dtype=np.int64)[::-1].copy()
    stable_sort(idx, k, k, k, k, k)
    assert idx.tolist() == sorted(range(36, 2, -1), key=lambda i: k[i])
