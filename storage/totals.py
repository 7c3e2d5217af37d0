"""Scan totals per local day × venue × category, kept beside the hot log, exact by construction.

The reporting service asks "how many check-ins in ward W today, by venue category" and
"+17,760 today" without touching scans. Two ways to keep such counters exact under retries
and crashes were on the table:

- write counter deltas in the same synced WriteBatch as the accepted scans, or
- derive them from the log itself: the hot log holds every accepted scan exactly once
  (de-duplicated by `scan_id`, one atomic WriteBatch per group commit), so counting it can
  neither double a retry nor lose an acked scan.

We take the second. The hot store already reads the whole log at open to rebuild its
de-duplication index, so `HotStore._rebuild` feeds the same batches to `ScanTotals.add`, and
the writer adds each commit's ACCEPTED scans after its synced write. There is no second
write per commit, no read-modify-write of counter keys, and no way for counters and log to
disagree after a `kill -9`. Retention drops a day from the log and from the totals together.

Counters are kept per (day, venue, category), the finest grain the reporting API needs;
ward × category and per-day sums are derived per query from the per-venue counters and the
venue registry's ward array: O(venues active that day), never O(scans). A venue's ward comes
from the registry at query time, so a venue registered after its first scans is still
counted under its ward.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.domain import CATEGORIES, LOCAL_UTC_OFFSET_S, WARDS
from storage.jit import CACHE, NOGIL
from storage.records import IN, SCAN_DTYPE, SECONDS_PER_DAY, ScanArray, local_day

#: table shape of `by_ward_category`: index 0 is "unknown" on both axes
N_WARD_ROWS: Final = len(WARDS) + 1
N_CATEGORY_COLS: Final = max(c.code for c in CATEGORIES) + 1
#: initial slots of a day's counter table (it doubles at half full)
_MIN_SLOTS: Final = 1 << 12

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class DayTotals:
    """Accepted scans of one local day per (venue, category), sorted by (venue, category)."""

    day: int
    venue: npt.NDArray[np.uint32]
    category: npt.NDArray[np.uint8]
    check_ins: U64
    check_outs: U64

    @property
    def scans(self) -> int:
        """All accepted scans of the day (IN + OUT)."""
        return int(self.check_ins.sum() + self.check_outs.sum())

    def by_ward_category(self, venue_ward: npt.NDArray[np.uint8]) -> U64:
        """(ward, category) table of check-ins; `venue_ward[venue_id]` is the venue's ward.

        Row 0 collects venues the ward array does not know; column 0 unknown categories.
        """
        return self._table(venue_ward, self.check_ins)

    def by_ward_category_out(self, venue_ward: npt.NDArray[np.uint8]) -> U64:
        """As `by_ward_category`, for check-outs."""
        return self._table(venue_ward, self.check_outs)

    def _table(self, venue_ward: npt.NDArray[np.uint8], counts: U64) -> U64:
        ids = self.venue.astype(np.int64)
        known = ids < len(venue_ward)
        ward = np.zeros(len(ids), dtype=np.int64)
        ward[known] = venue_ward[ids[known]]
        ward[ward >= N_WARD_ROWS] = 0
        category = self.category.astype(np.int64)
        category[category >= N_CATEGORY_COLS] = 0
        flat = np.bincount(
            ward * N_CATEGORY_COLS + category,
            weights=counts.astype(np.float64),
            minlength=N_WARD_ROWS * N_CATEGORY_COLS,
        )
        return flat.astype(np.uint64).reshape(N_WARD_ROWS, N_CATEGORY_COLS)

    def of_venue(self, venue: int) -> tuple[int, int]:
        """(check-ins, check-outs) at one venue that day, all categories."""
        lo = int(np.searchsorted(self.venue, venue, side="left"))
        hi = int(np.searchsorted(self.venue, venue, side="right"))
        return int(self.check_ins[lo:hi].sum()), int(self.check_outs[lo:hi].sum())


@njit(cache=CACHE, nogil=NOGIL)
def _count(  # noqa: PLR0917 - a numba kernel takes its arrays positionally
    slots: U64,
    counts: U64,
    used: int,
    t: npt.NDArray[np.uint32],
    venue: npt.NDArray[np.uint32],
    category: npt.NDArray[np.uint8],
    direction: npt.NDArray[np.uint8],
    day: int,
    start: int,
) -> tuple[int, int]:  # pragma: no cover
    """Count rows `start..` of `day` into the open-addressing table; (next row, slots used).

    A slot holds `(venue << 8 | category) + 1` (0 = free), `counts[slot]` its IN and OUT.
    Stops early, returning the row to resume from, when the table reaches half full.
    """
    mask = np.uint64(slots.shape[0] - 1)
    limit = slots.shape[0] // 2
    for i in range(start, t.shape[0]):
        if (np.int64(t[i]) + LOCAL_UTC_OFFSET_S) // SECONDS_PER_DAY != day:
            continue
        key = ((np.uint64(venue[i]) << np.uint64(8)) | np.uint64(category[i])) + np.uint64(1)
        s = (key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20) & mask
        while slots[s] != 0 and slots[s] != key:
            s = (s + np.uint64(1)) & mask
        if slots[s] == 0:
            if used >= limit:
                return i, used
            slots[s] = key
            used += 1
        counts[s, 0 if direction[i] == IN else 1] += np.uint64(1)
    return t.shape[0], used


class _Day:
    """Counters of one day: an open-addressing table (venue, category) -> (IN, OUT).

    Why a hash table: the writer adds every group commit (hundreds of thousands of scans);
    re-sorting the day's keys per fold cost more than the commit itself. Queries sort the
    occupied slots, O(venues active that day).
    """

    def __init__(self) -> None:
        self.slots: U64 = np.zeros(_MIN_SLOTS, np.uint64)
        self.counts = np.zeros((_MIN_SLOTS, 2), np.uint64)
        self.used = 0

    def add(self, scans: ScanArray, day: int) -> None:
        start, n = 0, len(scans)
        t, venue = scans["t"], scans["venue"]
        category, direction = scans["category"], scans["direction"]
        while start < n:
            start, self.used = _count(
                self.slots, self.counts, self.used, t, venue, category, direction, day, start
            )
            if start < n:
                self._grow()

    def _grow(self) -> None:
        live = np.flatnonzero(self.slots)
        keys, counts = self.slots[live], self.counts[live]
        cap = 2 * len(self.slots)
        self.slots = np.zeros(cap, np.uint64)
        self.counts = np.zeros((cap, 2), np.uint64)
        self.used = 0
        _reinsert(self.slots, self.counts, keys, counts)
        self.used = len(keys)

    def sorted(self) -> tuple[U64, U64]:
        """(keys venue << 8 | category, counts [:, IN/OUT]) sorted by key."""
        live = np.flatnonzero(self.slots)
        order = np.argsort(self.slots[live])
        return self.slots[live][order] - np.uint64(1), self.counts[live][order]


@njit(cache=CACHE, nogil=NOGIL)
def _reinsert(slots: U64, counts: U64, keys: U64, values: U64) -> None:  # pragma: no cover
    mask = np.uint64(slots.shape[0] - 1)
    for i in range(keys.shape[0]):
        key = keys[i]
        s = (key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20) & mask
        while slots[s] != 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = key
        counts[s, 0] = values[i, 0]
        counts[s, 1] = values[i, 1]


class ScanTotals:
    """Counters of accepted scans; thread-safe (the writer adds, readers query)."""

    def __init__(self) -> None:
        self._days: dict[int, _Day] = {}
        self._lock = threading.Lock()

    def add(self, scans: ScanArray) -> None:
        """Count scans that were durably accepted (each exactly once)."""
        if scans.dtype != SCAN_DTYPE:
            raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
        if len(scans) == 0:
            return
        t = scans["t"]
        lo, hi = local_day(np.array([t.min(), t.max()], dtype=np.uint32)).tolist()
        with self._lock:
            for day in range(lo, hi + 1):  # almost always one day (two around midnight)
                counts = self._days.get(day)
                if counts is None:
                    counts = self._days[day] = _Day()
                counts.add(scans, day)
            for day in [d for d in range(lo, hi + 1) if self._days[d].used == 0]:
                del self._days[day]

    def days(self) -> list[int]:
        """Local days with any counted scan, ascending."""
        with self._lock:
            return sorted(self._days)

    def day(self, day: int) -> DayTotals:
        """The totals of one local day (empty arrays for a day with no scans)."""
        with self._lock:
            counter = self._days.get(day)
            if counter is None:
                keys, counts = np.empty(0, np.uint64), np.empty((0, 2), np.uint64)
            else:
                keys, counts = counter.sorted()
        return DayTotals(
            day=day,
            venue=(keys >> np.uint64(8)).astype(np.uint32),
            category=(keys & np.uint64(0xFF)).astype(np.uint8),
            check_ins=counts[:, 0].copy(),
            check_outs=counts[:, 1].copy(),
        )

    def daily_scans(self) -> dict[int, int]:
        """Accepted scans (IN + OUT) per local day: the "+N today" figures."""
        return {d: self.day(d).scans for d in self.days()}

    def drop_days_before(self, day: int) -> None:
        """Forget every day < `day` (retention)."""
        with self._lock:
            for d in [d for d in self._days if d < day]:
                del self._days[d]
