"""A stable multi-key index sort for the kernels (one pass instead of a chain of sorts).

Why not numpy's: ranking a case's pieces by five keys took five stable `argsort`s, each
allocating and gathering, plus three more per contact for its evidence; for factory-sized
contact lists that was most of a batch trace. One bottom-up merge sort comparing the keys
lexicographically does the same job with two buffers and no gathers. Stable (ties keep their
input order), so it returns exactly what the chain of stable sorts returned.
"""

# ruff: noqa: PLR0917
from __future__ import annotations

from typing import Any

from numba import njit

from tracing import config

_RUN = 16  # insertion-sorted run length before merging


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH, inline="always")
def _less(i: Any, j: Any, k0: Any, k1: Any, k2: Any, k3: Any, k4: Any) -> bool:
    """Row i before row j by (k0, k1, k2, k3, k4)."""
    if k0[i] != k0[j]:
        return bool(k0[i] < k0[j])
    if k1[i] != k1[j]:
        return bool(k1[i] < k1[j])
    if k2[i] != k2[j]:
        return bool(k2[i] < k2[j])
    if k3[i] != k3[j]:
        return bool(k3[i] < k3[j])
    return bool(k4[i] < k4[j])


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def stable_sort(idx: Any, k0: Any, k1: Any, k2: Any, k3: Any, k4: Any) -> None:
    """Sort the row numbers `idx` in place by (k0, ..., k4)[row], stably.

    Repeat a key to sort by fewer than five. Keys may differ in dtype (uint64 persons,
    int64 times); each combination compiles once.
    """
    n = len(idx)
    if n < 2:
        return
    for lo in range(0, n, _RUN):
        hi = min(lo + _RUN, n)
        for a in range(lo + 1, hi):
            x = idx[a]
            b = a - 1
            while b >= lo and _less(x, idx[b], k0, k1, k2, k3, k4):
                idx[b + 1] = idx[b]
                b -= 1
            idx[b + 1] = x
    if n <= _RUN:
        return
    src = idx
    dst = idx.copy()
    width = _RUN
    swapped = False
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _less(src[j], src[i], k0, k1, k2, k3, k4):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        swapped = not swapped
        width *= 2
    if swapped:
        idx[:] = src
