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

from storage.domain import CATEGORIES, WARDS
from storage.records import IN, SCAN_DTYPE, ScanArray, local_day

#: table shape of `by_ward_category`: index 0 is "unknown" on both axes
N_WARD_ROWS: Final = len(WARDS) + 1
N_CATEGORY_COLS: Final = max(c.code for c in CATEGORIES) + 1
#: pending keys per day before they are folded into the sorted counters
_FOLD_AT: Final = 1 << 20

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


class _Day:
    """Counters of one day: folded sorted keys + counts, and not yet folded keys."""

    def __init__(self) -> None:
        self.keys: U64 = np.empty(0, np.uint64)  # venue << 8 | category, sorted, unique
        self.counts = np.empty((0, 2), np.uint64)  # [:, 0] IN, [:, 1] OUT
        self.pending: list[tuple[U64, npt.NDArray[np.uint8]]] = []
        self.pending_n = 0

    def fold(self) -> None:
        if not self.pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self.pending)])
        direction = np.concatenate([d for _, d in self.pending])
        weights = np.ones(len(direction), dtype=np.uint64)
        uniq, inverse = np.unique(keys, return_inverse=True)
        counts = np.zeros((len(uniq), 2), dtype=np.uint64)
        old = len(self.keys)
        np.add.at(counts, inverse[:old], self.counts)
        np.add.at(counts, (inverse[old:], (direction != IN).astype(np.intp)), weights)
        self.keys, self.counts = uniq, counts
        self.pending.clear()
        self.pending_n = 0


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
        days = local_day(scans["t"])
        keys = (scans["venue"].astype(np.uint64) << np.uint64(8)) | scans["category"].astype(
            np.uint64
        )
        direction = np.ascontiguousarray(scans["direction"])
        with self._lock:
            for day in np.unique(days).tolist():
                mask = days == day
                counter = self._days.setdefault(int(day), _Day())
                counter.pending.append((keys[mask], direction[mask]))
                counter.pending_n += int(mask.sum())
                if counter.pending_n >= max(_FOLD_AT, len(counter.keys)):
                    counter.fold()

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
                counter.fold()
                keys, counts = counter.keys, counter.counts
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
