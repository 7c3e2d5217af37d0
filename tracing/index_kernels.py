"""Numba kernels that maintain index parts: merge two parts, find next check-ins across parts.

Why kernels: a newly sealed day used to rebuild the whole sealed part (read every segment,
lexsort 10 M rows: ~7 s). Both inputs are already sorted, so a merge is one linear pass per
column set, and the person order is merged too instead of re-sorted. Ties keep the older
part's rows first, which is exactly the order a full rebuild over the manifest's entries
(older entries first, `lexsort` stable) produces, so traces stay identical.
"""

# ruff: noqa: PLR0917
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from tracing import config


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def merge_rows(
    a_off: Any,
    a_t_in: Any,
    a_t_out: Any,
    a_person: Any,
    a_flags: Any,
    b_off: Any,
    b_t_in: Any,
    b_t_out: Any,
    b_person: Any,
    b_flags: Any,
) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """Rows of parts a and b merged by (venue, t_in, person, t_out), a first on ties.

    Returns (off, t_in, t_out, person, flags, a_pos, b_pos): the merged columns and where
    each input row went.
    """
    na = len(a_t_in)
    nb = len(b_t_in)
    n_a_slots = len(a_off) - 1
    n_b_slots = len(b_off) - 1
    n_slots = max(n_a_slots, n_b_slots)
    n = na + nb
    off = np.zeros(n_slots + 1, np.int64)
    t_in = np.empty(n, np.uint32)
    t_out = np.empty(n, np.uint32)
    person = np.empty(n, np.uint64)
    flags = np.empty(n, np.uint8)
    a_pos = np.empty(na, np.int64)
    b_pos = np.empty(nb, np.int64)
    k = 0
    for v in range(n_slots):
        off[v] = k
        i, i1 = (a_off[v], a_off[v + 1]) if v < n_a_slots else (0, 0)
        j, j1 = (b_off[v], b_off[v + 1]) if v < n_b_slots else (0, 0)
        while i < i1 or j < j1:
            take_b = False
            if i >= i1:
                take_b = True
            elif j < j1:
                if b_t_in[j] != a_t_in[i]:
                    take_b = b_t_in[j] < a_t_in[i]
                elif b_person[j] != a_person[i]:
                    take_b = b_person[j] < a_person[i]
                else:
                    take_b = b_t_out[j] < a_t_out[i]
            if take_b:
                t_in[k] = b_t_in[j]
                t_out[k] = b_t_out[j]
                person[k] = b_person[j]
                flags[k] = b_flags[j]
                b_pos[j] = k
                j += 1
            else:
                t_in[k] = a_t_in[i]
                t_out[k] = a_t_out[i]
                person[k] = a_person[i]
                flags[k] = a_flags[i]
                a_pos[i] = k
                i += 1
            k += 1
    off[n_slots] = k
    return off, t_in, t_out, person, flags, a_pos, b_pos


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def merge_order(
    a_order: Any,
    a_person: Any,
    a_t_in: Any,
    a_pos: Any,
    b_person: Any,
    b_t_in: Any,
    b_row: Any,
) -> Any:
    """Merged person order: rows by (person, t_in, row), as `lexsort((t_in, person))` gives.

    Part a is the big one: its keys are read through its own order (three independent loads
    per row, which the memory system overlaps); part b arrives as keys already in its order.
    """
    na = len(a_order)
    nb = len(b_row)
    out = np.empty(na + nb, np.uint32)
    j = 0
    k = 0
    for i in range(na):
        x = a_order[i]
        pa = a_person[x]
        ta = a_t_in[x]
        ra = a_pos[x]
        while j < nb and (
            b_person[j] < pa
            or (b_person[j] == pa and (b_t_in[j] < ta or (b_t_in[j] == ta and b_row[j] < ra)))
        ):
            out[k] = b_row[j]
            j += 1
            k += 1
        out[k] = ra
        k += 1
    while j < nb:
        out[k] = b_row[j]
        j += 1
        k += 1
    return out


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def drop_rows(
    off: Any, t_in: Any, t_out: Any, person: Any, flags: Any, order: Any, drop: Any
) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """The part without the rows where `drop` is set: (off, t_in, t_out, person, flags,
    maxlen, person order), in one pass over the rows and one over the order."""
    n = len(t_in)
    n_slots = len(off) - 1
    new_row = np.empty(n, np.int64)
    kept = 0
    for r in range(n):
        new_row[r] = kept
        if not drop[r]:
            kept += 1
    o_off = np.zeros(n_slots + 1, np.int64)
    o_t_in = np.empty(kept, np.uint32)
    o_t_out = np.empty(kept, np.uint32)
    o_person = np.empty(kept, np.uint64)
    o_flags = np.empty(kept, np.uint8)
    maxlen = np.zeros(n_slots, np.uint32)
    k = 0
    for v in range(n_slots):
        o_off[v] = k
        longest: Any = 0
        for r in range(off[v], off[v + 1]):
            if drop[r]:
                continue
            o_t_in[k] = t_in[r]
            o_t_out[k] = t_out[r]
            o_person[k] = person[r]
            o_flags[k] = flags[r]
            length = np.int64(t_out[r]) - np.int64(t_in[r])
            longest = max(longest, length)
            k += 1
        maxlen[v] = longest
    o_off[n_slots] = k
    o_order = np.empty(kept, np.uint32)
    k = 0
    for i in range(len(order)):
        r = order[i]
        if not drop[r]:
            o_order[k] = new_row[r]
            k += 1
    return o_off, o_t_in, o_t_out, o_person, o_flags, maxlen, o_order


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def rows_of_persons(person: Any, order: Any, keys: Any) -> Any:
    """Every row of each (sorted, unique) key person, via the person-sorted permutation."""
    n = len(order)
    total = 0
    starts = np.empty(len(keys), np.int64)
    ends = np.empty(len(keys), np.int64)
    for c in range(len(keys)):
        key = keys[c]
        a = 0
        b = n
        while a < b:
            mid = (a + b) >> 1
            if person[order[mid]] < key:
                a = mid + 1
            else:
                b = mid
        starts[c] = a
        b = n
        while a < b:
            mid = (a + b) >> 1
            if person[order[mid]] <= key:
                a = mid + 1
            else:
                b = mid
        ends[c] = a
        total += a - starts[c]
    rows = np.empty(total, np.int64)
    k = 0
    for c in range(len(keys)):
        for j in range(starts[c], ends[c]):
            rows[k] = order[j]
            k += 1
    return rows


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def next_later(q_person: Any, q_t: Any, c_person: Any, c_t: Any, local_offset: int) -> Any:
    """For each query (person, t): the first candidate check-in of that person at a later
    second on the same local day (candidates sorted by (person, t)), else -1."""
    out = np.full(len(q_t), -1, np.int64)
    n = len(c_t)
    for i in range(len(q_t)):
        p = q_person[i]
        t = np.int64(q_t[i])
        a = 0
        b = n
        while a < b:  # first candidate > (p, t)
            mid = (a + b) >> 1
            if c_person[mid] < p or (c_person[mid] == p and np.int64(c_t[mid]) <= t):
                a = mid + 1
            else:
                b = mid
        if a < n and c_person[a] == p:
            nxt = np.int64(c_t[a])
            if (nxt + local_offset) // 86_400 == (t + local_offset) // 86_400:
                out[i] = nxt
    return out
