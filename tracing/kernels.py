"""Pure numba kernels of the F0 -> F1 trace: windows, matching, aggregation, ranking.

Everything here takes contiguous numpy arrays and returns numpy arrays: no Arrow, no
objects, no logging (the stumpy `_kernel` habit). Times are int64 epoch seconds inside;
the rule set arrives as the int64 vector `p` (slots `tracing.rules.P_*`) plus two 256-entry
tables indexed by venue category (default dwell seconds, weight in thousandths).

Each step works on many cases at once (offset arrays delimit a case's rows) and is written
once with `prange`, then compiled twice: serial for one case (no thread-pool start-up) and
parallel for batches. The index they search is one "part" (`tracing.index.IndexPart`): rows
sorted by (venue, t_in) with CSR venue offsets and the longest stay per venue, so the rows
that can overlap a window are one binary search away: `t_in` in
`[start - longest stay - slot, end + slot]`.

Pipeline of one case: `_windows` turns the F0's visits into match windows (check-out rule,
clip to the infectious window, minimum stay, tail, padding, slotting, then merged per venue
so two overlapping F0 visits never count a contact twice); `_match` finds every contact visit
overlapping a window and emits one *piece* per (contact visit, window, day) with its score
units; `_aggregate` sums pieces per contact (and per day), counts shared visits and ranks.
"""

# Kernels take arrays positionally (numba dispatch); hence the many positional parameters.
# ruff: noqa: PLR0917
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from tracing import config
from tracing.rules import (
    P_CASE_W,
    P_CHECKOUT,
    P_CLOSED,
    P_DAY_SPLIT,
    P_FIXED_STAY,
    P_LOCAL_OFFSET,
    P_MEASURE,
    P_MIN_STAY,
    P_PAD_AFTER,
    P_PAD_BEFORE,
    P_ROUND,
    P_SLOT,
    P_SLOT_BOTH,
    P_SLOT_NEXT,
    P_TAIL_MAX,
    P_TTL,
)
from tracing.sorting import stable_sort

DAY_S = 86_400
OBSERVED_MASK = 0b11  # storage.visits.T_OUT_RULE_MASK: 0 = check-out observed


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def _round_out(b: Any, slot: Any, next_slot: Any) -> Any:
    """End rounded up to a slot boundary; `next_slot`: an exact boundary moves on too."""
    if next_slot:
        return (b // slot + 1) * slot
    return -((-b) // slot) * slot


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def _visit_interval(
    t_in: Any, t_out: Any, flags: Any, t_next: Any, cat: Any, p: Any, dwell: Any
) -> tuple[Any, Any]:
    """A stored visit's interval under the rule set's check-out rule."""
    mode = p[P_CHECKOUT]
    a = t_in
    if mode == 3:
        return a, a + p[P_FIXED_STAY]
    if (flags & OBSERVED_MASK) == 0:
        return a, t_out
    if mode == 1:
        return a, a + dwell[cat]
    if mode == 2:
        return a, t_next
    return a, t_out


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def _day_of(t: Any, split: Any, local_offset: Any) -> Any:
    if split == 1:
        return (t + local_offset) // DAY_S
    if split == 2:
        return t // DAY_S
    return 0


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def _next_boundary(t: Any, split: Any, local_offset: Any) -> Any:
    shift = local_offset if split == 1 else 0
    return ((t + shift) // DAY_S + 1) * DAY_S - shift


def _windows_impl(
    cv_off: Any,
    cv_venue: Any,
    cv_t_in: Any,
    cv_t_out: Any,
    cv_flags: Any,
    cv_t_next: Any,
    lo: Any,
    hi: Any,
    p: Any,
    vcat: Any,
    dwell: Any,
) -> tuple[Any, Any, Any, Any, Any]:
    """Match windows of many cases: (w_off, venue, start, end, source case-visit index).

    Case c's visits are rows `cv_off[c]:cv_off[c+1]` (any order); its infectious window is
    `[lo[c], hi[c])`. Windows of one case come out sorted by (venue, start), merged where
    they overlap or touch.
    """
    n_cases = len(cv_off) - 1
    n = cv_off[n_cases]
    b_venue = np.empty(n, np.int64)
    b_start = np.empty(n, np.int64)
    b_end = np.empty(n, np.int64)
    b_src = np.empty(n, np.int64)
    counts = np.zeros(n_cases, np.int64)
    closed = p[P_CLOSED]
    slot = p[P_SLOT]
    n_vcat = len(vcat)
    for c in prange(n_cases):
        base = cv_off[c]
        k = 0
        for i in range(cv_off[c], cv_off[c + 1]):
            v = cv_venue[i]
            cat = vcat[v] if v < n_vcat else 0
            a, b = _visit_interval(
                np.int64(cv_t_in[i]),
                np.int64(cv_t_out[i]),
                cv_flags[i],
                np.int64(cv_t_next[i]),
                cat,
                p,
                dwell,
            )
            a = max(a, lo[c])
            b = min(b, hi[c])
            if b < a or (b == a and not closed):
                continue
            d = b - a
            if d < p[P_MIN_STAY]:
                continue
            b += min((d // 60) * 60, p[P_TAIL_MAX])
            a -= p[P_PAD_BEFORE]
            b += p[P_PAD_AFTER]
            if slot > 0:
                a = (a // slot) * slot
                b = _round_out(b, slot, p[P_SLOT_NEXT])
            b_venue[base + k] = v
            b_start[base + k] = a
            b_end[base + k] = b
            b_src[base + k] = i
            k += 1
        if k == 0:
            continue
        # sort the case's windows by (venue, start), then merge overlapping or touching ones
        seg_start = b_start[base : base + k].copy()
        seg_venue = b_venue[base : base + k].copy()
        seg_end = b_end[base : base + k].copy()
        seg_src = b_src[base : base + k].copy()
        order = np.argsort(seg_start, kind="mergesort")
        order = order[np.argsort(seg_venue[order], kind="mergesort")]
        m = 0
        for j in range(k):
            o = order[j]
            if (
                m > 0
                and b_venue[base + m - 1] == seg_venue[o]
                and seg_start[o] <= b_end[base + m - 1]
            ):
                b_end[base + m - 1] = max(b_end[base + m - 1], seg_end[o])
                continue
            b_venue[base + m] = seg_venue[o]
            b_start[base + m] = seg_start[o]
            b_end[base + m] = seg_end[o]
            b_src[base + m] = seg_src[o]
            m += 1
        counts[c] = m
    w_off = np.zeros(n_cases + 1, np.int64)
    for c in range(n_cases):
        w_off[c + 1] = w_off[c] + counts[c]
    total = w_off[n_cases]
    w_venue = np.empty(total, np.int64)
    w_start = np.empty(total, np.int64)
    w_end = np.empty(total, np.int64)
    w_src = np.empty(total, np.int64)
    for c in range(n_cases):
        for j in range(counts[c]):
            w_venue[w_off[c] + j] = b_venue[cv_off[c] + j]
            w_start[w_off[c] + j] = b_start[cv_off[c] + j]
            w_end[w_off[c] + j] = b_end[cv_off[c] + j]
            w_src[w_off[c] + j] = b_src[cv_off[c] + j]
    return w_off, w_venue, w_start, w_end, w_src


def _match_case(
    c: int,
    w_off: Any,
    w_venue: Any,
    w_start: Any,
    w_end: Any,
    exclude: Any,
    off: Any,
    t_in: Any,
    t_out: Any,
    person: Any,
    flags: Any,
    t_next: Any,
    maxlen: Any,
    p: Any,
    vcat: Any,
    dwell: Any,
    weights: Any,
    as_of_c: Any,
    fill: bool,
    pos: int,
    o_row: Any,
    o_win: Any,
    o_s: Any,
    o_e: Any,
    o_day: Any,
    o_units: Any,
    o_first: Any,
) -> int:
    """Pieces of case `c` against one index part: counted, or written from `pos` when `fill`."""
    closed = p[P_CLOSED]
    slot = p[P_SLOT]
    slot_both = p[P_SLOT_BOTH] and slot > 0
    mode = p[P_CHECKOUT]
    split = p[P_DAY_SPLIT]
    local_offset = p[P_LOCAL_OFFSET]
    ttl = p[P_TTL]
    as_of = as_of_c[c]
    case_w = p[P_CASE_W]
    n_slots = len(off) - 1
    n_vcat = len(vcat)
    k = 0
    for w in range(w_off[c], w_off[c + 1]):
        v = w_venue[w]
        if v >= n_slots:
            continue
        r0 = off[v]
        r1 = off[v + 1]
        if r0 == r1:
            continue
        cat = vcat[v] if v < n_vcat else 0
        ws = w_start[w]
        we = w_end[w]
        reach: Any = np.int64(maxlen[v])
        if mode == 1:
            reach = max(reach, dwell[cat])
        elif mode == 2:
            reach = DAY_S
        elif mode == 3:
            reach = p[P_FIXED_STAY]
        lo_t = ws - reach - slot
        hi_t = we + slot
        # first row with t_in >= lo_t
        a = r0
        b = r1
        while a < b:
            mid = (a + b) >> 1
            if np.int64(t_in[mid]) < lo_t:
                a = mid + 1
            else:
                b = mid
        weight = weights[cat] * case_w
        for r in range(a, r1):
            ti = np.int64(t_in[r])
            if ti > hi_t:
                break
            if exclude[c] and person[r] == exclude[c]:
                continue
            if ttl > 0 and ti + ttl < as_of:
                continue
            ca, cb = _visit_interval(
                ti, np.int64(t_out[r]), flags[r], np.int64(t_next[r]), cat, p, dwell
            )
            if slot_both:
                ca = (ca // slot) * slot
                cb = _round_out(cb, slot, p[P_SLOT_NEXT])
            s = max(ws, ca)
            e = min(we, cb)
            if e < s or (e == s and not closed):
                continue
            if p[P_MEASURE] == 1 or split == 0:
                n_pieces = 1
            else:
                n_pieces = 1
                t = s
                while True:
                    nb = _next_boundary(t, split, local_offset)
                    if nb >= e:
                        break
                    n_pieces += 1
                    t = nb
            if fill:
                ps = s
                for j in range(n_pieces):
                    if p[P_MEASURE] == 1:
                        pe = e
                        units = weight
                    else:
                        pe = e if j == n_pieces - 1 else _next_boundary(ps, split, local_offset)
                        length = pe - ps
                        if p[P_ROUND] and length > 0:
                            length = ((length + 30) // 60) * 60
                        units = length * weight
                    q = pos + k + j
                    o_row[q] = r
                    o_win[q] = w
                    o_s[q] = s
                    o_e[q] = e
                    o_day[q] = _day_of(ps, split, local_offset)
                    o_units[q] = units
                    o_first[q] = j == 0
                    ps = pe
            k += n_pieces
    return k


_match_case_jit: Any = njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)(
    _match_case
)


def _match_impl(
    w_off: Any,
    w_venue: Any,
    w_start: Any,
    w_end: Any,
    exclude: Any,
    off: Any,
    t_in: Any,
    t_out: Any,
    person: Any,
    flags: Any,
    t_next: Any,
    maxlen: Any,
    p: Any,
    vcat: Any,
    dwell: Any,
    weights: Any,
    as_of: Any,
) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any]:
    """Pieces of every case against one part: (piece_off, row, win, s, e, day, units, first).

    A piece is one contact visit (`row`) overlapping one window (`win`) on one day; `s`, `e`
    are the whole overlap, `units` this day's share of the score, `first` marks the first
    piece of a (row, window) pair. Two passes (count, then fill) so no buffer ever grows.
    """
    n_cases = len(w_off) - 1
    counts = np.zeros(n_cases, np.int64)
    dummy_i = np.empty(0, np.int64)
    dummy_b = np.empty(0, np.bool_)
    for c in prange(n_cases):
        counts[c] = _match_case_jit(
            c, w_off, w_venue, w_start, w_end, exclude, off, t_in, t_out, person, flags,
            t_next, maxlen, p, vcat, dwell, weights, as_of, False, 0,
            dummy_i, dummy_i, dummy_i, dummy_i, dummy_i, dummy_i, dummy_b,
        )  # fmt: skip
    piece_off = np.zeros(n_cases + 1, np.int64)
    for c in range(n_cases):
        piece_off[c + 1] = piece_off[c] + counts[c]
    n = piece_off[n_cases]
    o_row = np.empty(n, np.int64)
    o_win = np.empty(n, np.int64)
    o_s = np.empty(n, np.int64)
    o_e = np.empty(n, np.int64)
    o_day = np.empty(n, np.int64)
    o_units = np.empty(n, np.int64)
    o_first = np.empty(n, np.bool_)
    for c in prange(n_cases):
        _match_case_jit(
            c, w_off, w_venue, w_start, w_end, exclude, off, t_in, t_out, person, flags,
            t_next, maxlen, p, vcat, dwell, weights, as_of, True, piece_off[c],
            o_row, o_win, o_s, o_e, o_day, o_units, o_first,
        )  # fmt: skip
    return piece_off, o_row, o_win, o_s, o_e, o_day, o_units, o_first


def _aggregate_impl(
    piece_off: Any,
    person: Any,
    s: Any,
    e: Any,
    win: Any,
    day: Any,
    units: Any,
    first: Any,
    threshold: Any,
    per_day: bool,
) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]:
    """Contacts of many cases from their pieces, ranked.

    Returns (c_off, person, units, day_max, shared, first, last, high, ev_off, ev_piece,
    ev_units): per case, contacts `c_off[c]:c_off[c+1]` in rank order (score desc, shared
    visits desc, earliest exposure, person); per contact, evidence pieces
    `ev_off[i]:ev_off[i+1]` (first piece of each shared visit, by overlap start) with the
    visit's summed units. The tier is high when the score (per day when `per_day`) reaches
    `threshold[c]`.
    """
    n_cases = len(piece_off) - 1
    n = piece_off[n_cases]
    # pair units: pieces of one pair are consecutive within a case's emission order
    pair_units = np.zeros(n, np.int64)
    for c in prange(n_cases):
        lead = -1
        for i in range(piece_off[c], piece_off[c + 1]):
            if first[i]:
                lead = i
            pair_units[lead] += units[i]
    c_person = np.empty(n, np.uint64)
    c_units = np.empty(n, np.int64)
    c_day_max = np.empty(n, np.int64)
    c_shared = np.empty(n, np.int64)
    c_first = np.empty(n, np.int64)
    c_last = np.empty(n, np.int64)
    c_high = np.empty(n, np.bool_)
    c_count = np.zeros(n_cases, np.int64)
    ev_count = np.zeros(n, np.int64)  # per contact slot (contacts of case c live at piece_off[c]+)
    ev_piece = np.empty(n, np.int64)
    for c in prange(n_cases):
        lo = piece_off[c]
        hi = piece_off[c + 1]
        if lo == hi:
            continue
        o = np.arange(lo, hi)
        stable_sort(o, person, day, s, e, win)
        m = 0
        j = 0
        # per-contact evidence: its first pieces, already in (s, e, win) order because a first
        # piece's day is the day of its start (monotone in s)
        tmp_ev = np.empty(hi - lo, np.int64)
        tmp_ev_start = np.empty(hi - lo + 1, np.int64)
        n_ev = 0
        while j < hi - lo:
            who = person[o[j]]
            total = 0
            best = 0
            shared = 0
            t_first = s[o[j]]
            t_last = e[o[j]]
            cur_day = day[o[j]]
            day_sum = 0
            tmp_ev_start[m] = n_ev
            while j < hi - lo and person[o[j]] == who:
                i = o[j]
                if day[i] != cur_day:
                    best = max(best, day_sum)
                    cur_day = day[i]
                    day_sum = 0
                day_sum += units[i]
                total += units[i]
                if first[i]:
                    shared += 1
                    tmp_ev[n_ev] = i
                    n_ev += 1
                t_first = min(t_first, s[i])
                t_last = max(t_last, e[i])
                j += 1
            best = max(best, day_sum)
            q = lo + m
            c_person[q] = who
            c_units[q] = total
            c_day_max[q] = best
            c_shared[q] = shared
            c_first[q] = t_first
            c_last[q] = t_last
            c_high[q] = (best if per_day else total) >= threshold[c]
            m += 1
        tmp_ev_start[m] = n_ev
        # rank: score desc, shared desc, earliest exposure, then person (the current order)
        r = np.arange(m)
        neg_units = -c_units[lo : lo + m]
        neg_shared = -c_shared[lo : lo + m]
        t_first_c = c_first[lo : lo + m]
        stable_sort(r, neg_units, neg_shared, t_first_c, t_first_c, t_first_c)
        cp = c_person[lo : lo + m].copy()
        cu = c_units[lo : lo + m].copy()
        cd = c_day_max[lo : lo + m].copy()
        cs = c_shared[lo : lo + m].copy()
        cf = c_first[lo : lo + m].copy()
        cl = c_last[lo : lo + m].copy()
        ch = c_high[lo : lo + m].copy()
        pos = lo
        for x in range(m):
            k = r[x]
            c_person[lo + x] = cp[k]
            c_units[lo + x] = cu[k]
            c_day_max[lo + x] = cd[k]
            c_shared[lo + x] = cs[k]
            c_first[lo + x] = cf[k]
            c_last[lo + x] = cl[k]
            c_high[lo + x] = ch[k]
            ev_count[lo + x] = tmp_ev_start[k + 1] - tmp_ev_start[k]
            for y in range(tmp_ev_start[k], tmp_ev_start[k + 1]):
                ev_piece[pos] = tmp_ev[y]
                pos += 1
        c_count[c] = m
    # compact: contacts of case c sit at piece_off[c] .. + c_count[c]
    c_off = np.zeros(n_cases + 1, np.int64)
    for c in range(n_cases):
        c_off[c + 1] = c_off[c] + c_count[c]
    total_c = c_off[n_cases]
    out_person = np.empty(total_c, np.uint64)
    out_units = np.empty(total_c, np.int64)
    out_day_max = np.empty(total_c, np.int64)
    out_shared = np.empty(total_c, np.int64)
    out_first = np.empty(total_c, np.int64)
    out_last = np.empty(total_c, np.int64)
    out_high = np.empty(total_c, np.bool_)
    ev_off = np.zeros(total_c + 1, np.int64)
    q = 0
    for c in range(n_cases):
        for x in range(c_count[c]):
            src = piece_off[c] + x
            out_person[q] = c_person[src]
            out_units[q] = c_units[src]
            out_day_max[q] = c_day_max[src]
            out_shared[q] = c_shared[src]
            out_first[q] = c_first[src]
            out_last[q] = c_last[src]
            out_high[q] = c_high[src]
            ev_off[q + 1] = ev_off[q] + ev_count[src]
            q += 1
    # evidence of case c's contacts is contiguous from piece_off[c] in ev_piece
    out_ev = np.empty(ev_off[total_c], np.int64)
    out_ev_units = np.empty(ev_off[total_c], np.int64)
    q = 0
    for c in range(n_cases):
        n_ev_c = 0
        for x in range(c_count[c]):
            n_ev_c += ev_count[piece_off[c] + x]
        for y in range(n_ev_c):
            i = ev_piece[piece_off[c] + y]
            out_ev[q] = i
            out_ev_units[q] = pair_units[i]
            q += 1
    return (
        c_off, out_person, out_units, out_day_max, out_shared, out_first, out_last,
        out_high, ev_off, out_ev, out_ev_units,
    )  # fmt: skip


_serial: Any = njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
_parallel: Any = njit(
    cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH, parallel=True
)

_windows = _serial(_windows_impl)
_windows_parallel = _parallel(_windows_impl)
_match = _serial(_match_impl)
_match_parallel = _parallel(_match_impl)
_aggregate = _serial(_aggregate_impl)
_aggregate_parallel = _parallel(_aggregate_impl)


@njit(cache=config.CACHE, nogil=config.NOGIL, fastmath=config.FASTMATH)
def _case_rows(person: Any, order: Any, t_in: Any, keys: Any, lo: Any, hi: Any) -> tuple[Any, Any]:
    """Rows of each key's person (via the person-sorted permutation) that may touch its window.

    Returns (case index, row) pairs grouped by case; a row qualifies when its check-in is
    before `hi[c]` and less than a day before `lo[c]` (no rule's stay exceeds a day; the
    window kernel clips exactly). numpy's `searchsorted(sorter=...)` validates the whole
    permutation on every call, which made this look-up cost more than the trace.
    """
    n_keys = len(keys)
    ranges = np.empty((n_keys, 2), np.int64)
    total = 0
    for c in range(n_keys):
        key = keys[c]
        a = 0
        b = len(order)
        while a < b:
            mid = (a + b) >> 1
            if person[order[mid]] < key:
                a = mid + 1
            else:
                b = mid
        start = a
        b = len(order)
        while a < b:
            mid = (a + b) >> 1
            if person[order[mid]] <= key:
                a = mid + 1
            else:
                b = mid
        ranges[c, 0] = start
        ranges[c, 1] = a
        total += a - start
    case = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    k = 0
    for c in range(n_keys):
        for j in range(ranges[c, 0], ranges[c, 1]):
            r = np.int64(order[j])
            t = np.int64(t_in[r])
            if t < hi[c] and t + DAY_S >= lo[c]:
                case[k] = c
                rows[k] = r
                k += 1
    return case[:k], rows[:k]
