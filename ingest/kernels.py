"""Numba kernels of the ingest path: one pass per batch instead of dozens of numpy calls.

A 1,000-scan batch went through ~40 numpy calls to be checked and packed (`np.select` over
ten conditions alone cost ~50 µs); each call's fixed overhead, not the data, was the cost,
and it is paid on the event loop. These kernels do the same work row by row in one compiled
loop each, with the GIL released (`storage.jit`).

Arrays only, `_`-prefixed; `ingest.validation.check_scans` and `ingest.pipeline` are the
wrappers (validation, shapes, the `Checked` result). The order of the checks is the one
`ingest.validation` documents; `tests/unit/ingest/test_validation.py` compares every row
with a plain-Python oracle.
"""

# ruff: noqa: PLR0917 - kernels take their arrays positionally

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.jit import CACHE, NOGIL

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

#: Why codes (ingest.validation.Why), as the kernel writes them
_OK, _SCAN_ID_ZERO, _DIRECTION, _TIME_RANGE, _VENUE_INDEX, _PERSON = 0, 1, 2, 3, 4, 5
_SIGNATURE, _UNKNOWN_VENUE, _VENUE_CLOSED, _FUTURE, _TOO_OLD = 6, 7, 8, 9, 10
_MAX_TIME_MS = 0xFFFF_FFFF * 1000 + 999


@njit(cache=CACHE, nogil=NOGIL)
def _check(
    ids: U64,
    t_ms: I64,
    directions: U8,
    venue_index: U32,
    code_venue: U32,
    code_bad: Mask,
    person_bad: Mask,
    registered: Mask,
    closed_at: U32,
    category_of: U8,
    now_s: int,
    skew_s: int,
    retention_s: int,
    why: U8,
    venue: U32,
    t: U32,
    category: U8,
) -> int:  # pragma: no cover
    """Why code, venue id, time (s) and category per row; returns how many rows passed."""
    n_codes = code_venue.shape[0]
    n_venues = registered.shape[0]
    ok = 0
    for i in range(t_ms.shape[0]):
        if n_codes:
            code = min(venue_index[i], n_codes - 1)
            v = code_venue[code]
            sig_bad = code_bad[code]
        else:
            v = np.uint32(0)
            sig_bad = True
        in_range = v < n_venues
        vidx = v if in_range else 0
        ts = min(max(t_ms[i] // 1000, 0), 0xFFFF_FFFF)
        closed = closed_at[vidx] if n_venues else 0
        if ids[i, 0] == 0 and ids[i, 1] == 0:
            w = _SCAN_ID_ZERO
        elif directions[i] > 1:
            w = _DIRECTION
        elif t_ms[i] < 1000 or t_ms[i] > _MAX_TIME_MS:
            w = _TIME_RANGE
        elif venue_index[i] >= n_codes:
            w = _VENUE_INDEX
        elif person_bad[i]:
            w = _PERSON
        elif sig_bad:
            w = _SIGNATURE
        elif not (in_range and registered[vidx]):
            w = _UNKNOWN_VENUE
        elif closed != 0 and ts >= closed:
            w = _VENUE_CLOSED
        elif ts > now_s + skew_s:
            w = _FUTURE
        elif ts < now_s - retention_s:
            w = _TOO_OLD
        else:
            w = _OK
            ok += 1
        why[i] = w
        venue[i] = v
        t[i] = ts
        category[i] = category_of[vidx] if n_venues else 0
    return ok


@njit(cache=CACHE, nogil=NOGIL)
def _pack(
    why: U8,
    ids: U64,
    person: U64,
    venue: U32,
    t: U32,
    directions: U8,
    category: U8,
    rows: npt.NDArray[np.intp],
    out: U32,
) -> None:  # pragma: no cover
    """Storage records of the rows that passed, in order, as 9 u32 words each.

    `storage.records.SCAN_DTYPE` is 36 bytes: scan_id (4 words), person (2), venue, t, and
    direction | category << 8 | reserved (0) << 16. `rows` receives each record's row.
    """
    k = 0
    low = np.uint64(0xFFFFFFFF)
    for i in range(why.shape[0]):
        if why[i] != _OK:
            continue
        rows[k] = i
        out[k, 0] = np.uint32(ids[i, 0] & low)
        out[k, 1] = np.uint32(ids[i, 0] >> np.uint64(32))
        out[k, 2] = np.uint32(ids[i, 1] & low)
        out[k, 3] = np.uint32(ids[i, 1] >> np.uint64(32))
        out[k, 4] = np.uint32(person[i] & low)
        out[k, 5] = np.uint32(person[i] >> np.uint64(32))
        out[k, 6] = venue[i]
        out[k, 7] = t[i]
        out[k, 8] = np.uint32(directions[i]) | (np.uint32(category[i]) << np.uint32(8))
        k += 1


@njit(cache=CACHE, nogil=NOGIL)
def _settle(
    why: U8,
    why_verdict: U8,
    rows: npt.NDArray[np.intp],
    stored: U8,
    from_store: U8,
    conflict_why: int,
    accepted_verdict: int,
    duplicate_verdict: int,
    verdicts: U8,
) -> tuple[int, int]:  # pragma: no cover
    """Final verdict per row: the check's, overridden by the store's for the stored `rows`
    (a store CONFLICT also becomes the row's Why). Returns (accepted, duplicate)."""
    for i in range(why.shape[0]):
        verdicts[i] = why_verdict[why[i]]
    for k in range(rows.shape[0]):
        r = rows[k]
        verdicts[r] = from_store[stored[k]]
        if stored[k] == 2:  # storage.dedupe.Verdict.CONFLICT
            why[r] = conflict_why
    accepted = 0
    duplicate = 0
    for i in range(verdicts.shape[0]):
        if verdicts[i] == accepted_verdict:
            accepted += 1
        elif verdicts[i] == duplicate_verdict:
            duplicate += 1
    return accepted, duplicate
