"""A group commit's accepted scans, grouped into (local day, venue shard) log values.

Why a kernel: the hot store's writer did this with numpy on the structured scan array (mask
the accepted rows, compute day and shard keys, stable argsort, gather, cut at key changes).
numpy copies a structured dtype field by field, so the mask and the gather alone cost
~50 µs per 1,000 scans, a third of the writer's time at 600 k scans/s (py-spy). One counting
sort over the records' 32-bit words does it in two passes with the GIL released.

Order is what the numpy version gave: chunks by ascending (day, shard) key, and within a
chunk the scans in arrival order (a stable sort), so the log's content is unchanged.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.domain import LOCAL_UTC_OFFSET_S
from storage.jit import CACHE, NOGIL
from storage.records import RECORD_SIZE, SCAN_DTYPE, SECONDS_PER_DAY, ScanArray, empty_scans

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

#: 32-bit words per record and the words holding `venue` and `t` (SCAN_DTYPE offsets 24, 28)
_WORDS: Final = RECORD_SIZE // 4


def _word(field: str) -> int:
    fields = SCAN_DTYPE.fields
    assert fields is not None
    return int(fields[field][1]) // 4


_VENUE_WORD: Final = _word("venue")
_T_WORD: Final = _word("t")
#: most (day, shard) keys one commit may span before the counting table gets too large; a
#: group spanning more (only hand-made test data does) falls back to a comparison sort
MAX_KEYS: Final = 1 << 20


@njit(cache=CACHE, nogil=NOGIL)
def _day_range(words: U32, verdicts: U8) -> tuple[int, int]:  # pragma: no cover
    """(lowest, highest) local day of the accepted rows; (0, -1) when there are none."""
    lo, hi = 1 << 62, -1
    for i in range(words.shape[0]):
        if verdicts[i] == 0:
            day = (int(words[i, _T_WORD]) + LOCAL_UTC_OFFSET_S) // SECONDS_PER_DAY
            lo = min(lo, day)
            hi = max(hi, day)
    return (0, -1) if hi < 0 else (lo, hi)


@njit(cache=CACHE, nogil=NOGIL)
def _scatter(  # noqa: PLR0917 - a kernel takes its arrays positionally
    words: U32, verdicts: U8, day0: int, n_shards: int, counts: I64, out: U32
) -> None:  # pragma: no cover
    """Count the accepted rows per key, then copy each to its key's slot in `out` (stable)."""
    n = words.shape[0]
    keys = np.empty(n, np.int64)
    for i in range(n):
        if verdicts[i] == 0:
            day = (np.int64(words[i, _T_WORD]) + LOCAL_UTC_OFFSET_S) // SECONDS_PER_DAY
            k = (day - day0) * n_shards + np.int64(words[i, _VENUE_WORD]) % n_shards
            keys[i] = k
            counts[k] += 1
    pos = np.empty(counts.shape[0], np.int64)
    at = 0
    for key in range(counts.shape[0]):
        pos[key] = at
        at += int(counts[key])
    for i in range(n):
        if verdicts[i] == 0:
            p = pos[keys[i]]
            pos[keys[i]] = p + 1
            for w in range(_WORDS):
                out[p, w] = words[i, w]


def words_of(scans: ScanArray) -> U32:
    """The records as an (n, 9) array of little-endian 32-bit words (a view when possible)."""
    return np.ascontiguousarray(scans).view(np.uint32).reshape(len(scans), _WORDS)


def log_chunks(
    scans: ScanArray, verdicts: U8, n_shards: int
) -> tuple[ScanArray, list[tuple[int, int, int, int]]]:
    """(accepted scans grouped by key, [(day, shard, lo, hi)] slices of it in key order).

    `verdicts` holds one `storage.dedupe.Verdict` per scan; only ACCEPTED (0) rows are kept.
    """
    n_ok = int(np.count_nonzero(verdicts == 0))
    out = empty_scans(n_ok)
    if n_ok == 0:
        return out, []
    words = words_of(scans)
    day0, day1 = _day_range(words, verdicts)
    n_keys = (day1 - day0 + 1) * n_shards
    if n_keys > MAX_KEYS:
        return _log_chunks_sorted(scans, verdicts, n_shards)
    counts = np.zeros(n_keys, np.int64)
    _scatter(words, verdicts, day0, n_shards, counts, words_of(out))
    keys = np.flatnonzero(counts)
    ends = np.cumsum(counts)[keys]
    starts = ends - counts[keys]
    return out, [
        (day0 + k // n_shards, k % n_shards, lo, hi)
        for k, lo, hi in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True)
    ]


def _log_chunks_sorted(
    scans: ScanArray, verdicts: U8, n_shards: int
) -> tuple[ScanArray, list[tuple[int, int, int, int]]]:
    """`log_chunks` by a stable comparison sort (groups spanning very many days)."""
    accepted = scans[verdicts == 0]
    if len(accepted) == 0:
        return accepted, []
    days = ((accepted["t"].astype(np.int64) + LOCAL_UTC_OFFSET_S) // SECONDS_PER_DAY).astype(
        np.int64
    )
    key = days * n_shards + accepted["venue"].astype(np.int64) % n_shards
    order = np.argsort(key, kind="stable")
    key, accepted = key[order], accepted[order]
    cut = np.flatnonzero(np.diff(key)) + 1
    bounds = zip(np.r_[0, cut].tolist(), np.r_[cut, len(key)].tolist(), strict=True)
    return accepted, [
        (int(key[lo]) // n_shards, int(key[lo]) % n_shards, lo, hi) for lo, hi in bounds
    ]
