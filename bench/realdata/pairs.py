"""Brute-force co-presence counts, independent of the engine (plain numpy, sorted sweeps).

Used as the oracle of the real-data report: same-venue overlapping visit pairs of distinct
people, counted by walking each venue's visits in t_in order (visit i overlaps a later j
exactly when t_in[j] < t_out[i], since t_in[i] <= t_in[j] < t_out[j]).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def overlapping_pairs(
    venue: npt.NDArray[np.integer],
    t_in: npt.NDArray[np.integer],
    t_out: npt.NDArray[np.integer],
    person: npt.NDArray[np.integer],
) -> tuple[I64, I64]:
    """Index pairs (i, j) of visits at one venue, of different people, with overlap > 0 s."""
    order = np.lexsort((t_in, venue))
    v = np.asarray(venue, dtype=np.int64)[order]
    a = np.asarray(t_in, dtype=np.int64)[order]
    b = np.asarray(t_out, dtype=np.int64)[order]
    p = np.asarray(person)[order]
    nonempty = b > a
    n = len(v)
    alive = np.arange(n)[nonempty]
    left: list[I64] = []
    right: list[I64] = []
    k = 1
    while len(alive):
        alive = alive[alive + k < n]
        j = alive + k
        # j's own emptiness does not end i's sweep; a later visit may still overlap i
        alive = alive[(v[j] == v[alive]) & (a[j] < b[alive])]
        j = alive + k
        hit = (p[j] != p[alive]) & nonempty[j]
        left.append(order[alive[hit]])
        right.append(order[j[hit]])
        k += 1
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64)


def unordered(x: npt.NDArray[np.integer], y: npt.NDArray[np.integer]) -> set[tuple[int, int]]:
    """{(min, max)} of paired values."""
    lo = np.minimum(x, y).tolist()
    hi = np.maximum(x, y).tolist()
    return set(zip(lo, hi, strict=True))
