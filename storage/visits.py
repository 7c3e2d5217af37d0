"""Scans to visits `[t_in, t_out)`: check-out pairing and imputation (DESIGN §3).

The rule, applied per person to one local (UTC+7) day's scans ordered by time (an OUT sorts
before an IN of the same second, so "leave A, enter B" in one second reads naturally):

- An IN opens a visit at its venue. Its cap is `min(t_in + default dwell of the venue's
  category, end of the local day)`.
- An OUT at the open visit's venue closes it: `t_out` observed (it may exceed the cap; an
  observed check-out is trusted).
- An IN at the open visit's venue before the cap is a repeated tap and changes nothing; at or
  after the cap it closes the old visit at the cap and opens a new one.
- Any scan at another venue closes the open visit at `min(that scan's time, cap)`: imputed by
  next scan, or by default dwell / day end when the cap came first.
- A visit still open after the person's last scan of the day closes at its cap.
- An OUT with no open visit at its venue (the IN was lost, or fell on the previous local day)
  yields `[max(t_out - default dwell, previous scan of the person that day, day start),
  t_out)` with `T_IN_IMPUTED` set: the person was there, and we assume no longer than the
  category's dwell, not before their previous scan, and not before midnight. So a visit over
  midnight becomes two visits, one per day, each flagged.
- Empty visits (`t_out <= t_in`, e.g. two scans in the same second) are dropped: they can't
  overlap anything under half-open semantics.

Flags: the low two bits say how `t_out` was found (`VisitFlag`), bit 2 says `t_in` was imputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Self

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORIES
from storage.records import SCAN_DTYPE, ScanArray, day_bounds, local_day
from storage.visit_kernels import _build_visits


class VisitFlag(IntEnum):
    """How a visit's `t_out` was found (low two bits of `flags`)."""

    OBSERVED = 0
    IMPUTED_NEXT_SCAN = 1
    IMPUTED_DEFAULT_DWELL = 2
    IMPUTED_DAY_END = 3


T_OUT_RULE_MASK: Final = 0b11
T_IN_IMPUTED: Final = 0b100

#: Dwell assumed for a venue whose category is unknown (code 0 or not in the table).
UNKNOWN_CATEGORY_DWELL_MIN: Final = 60


def dwell_table_s(unknown_dwell_min: int = UNKNOWN_CATEGORY_DWELL_MIN) -> npt.NDArray[np.int64]:
    """Default dwell in seconds indexed by category code (256 entries)."""
    table = np.full(256, unknown_dwell_min * 60, dtype=np.int64)
    for category in CATEGORIES:
        table[category.code] = category.default_dwell_min * 60
    return table


DEFAULT_DWELL_S: Final = dwell_table_s()


@dataclass(frozen=True)
class Visits:
    """Visits as a struct of arrays (all the same length)."""

    venue: npt.NDArray[np.uint32]
    t_in: npt.NDArray[np.uint32]
    t_out: npt.NDArray[np.uint32]
    person: npt.NDArray[np.uint64]
    flags: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.venue)

    @classmethod
    def empty(cls) -> Self:
        return cls(
            np.empty(0, np.uint32),
            np.empty(0, np.uint32),
            np.empty(0, np.uint32),
            np.empty(0, np.uint64),
            np.empty(0, np.uint8),
        )

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_] | slice) -> Self:
        """Rows selected by an index array, boolean mask or slice."""
        return type(self)(
            self.venue[index],
            self.t_in[index],
            self.t_out[index],
            self.person[index],
            self.flags[index],
        )

    @classmethod
    def concat(cls, parts: Sequence[Visits]) -> Self:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.venue for p in parts]),
            np.concatenate([p.t_in for p in parts]),
            np.concatenate([p.t_out for p in parts]),
            np.concatenate([p.person for p in parts]),
            np.concatenate([p.flags for p in parts]),
        )

    def sorted_by_venue(self) -> Self:
        """Rows ordered by (venue, t_in, person, t_out): the sealed segment order."""
        return self.take(np.lexsort((self.t_out, self.person, self.t_in, self.venue)))

    def sorted_by_person(self) -> Self:
        """Rows ordered by (person, t_in, venue, t_out): a case's own visits."""
        return self.take(np.lexsort((self.t_out, self.venue, self.t_in, self.person)))


def build_visits(
    scans: ScanArray, day: int, dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S
) -> Visits:
    """Visits of one local day's scans (every scan must fall on `day`), venue-sorted.

    Duplicates must already be gone (the hot store guarantees it); the scans may be in any
    order. `dwell_s` is indexed by category code.
    """
    if scans.dtype != SCAN_DTYPE:
        raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
    if len(dwell_s) != 256:
        raise ValueError(f"dwell table must have 256 entries, got {len(dwell_s)}")
    n = len(scans)
    if n == 0:
        return Visits.empty()
    days = local_day(scans["t"])
    if (days != day).any():
        wrong = int(days[days != day][0])
        raise ValueError(f"scan on local day {wrong} passed to build_visits for day {day}")
    order = np.lexsort((scans["venue"], 1 - scans["direction"], scans["t"], scans["person"]))
    s = scans[order]
    out = Visits(
        np.empty(n, np.uint32),
        np.empty(n, np.uint32),
        np.empty(n, np.uint32),
        np.empty(n, np.uint64),
        np.empty(n, np.uint8),
    )
    start, end = day_bounds(day)
    k = _build_visits(
        np.ascontiguousarray(s["person"]),
        s["t"].astype(np.int64),
        np.ascontiguousarray(s["direction"]),
        np.ascontiguousarray(s["venue"]),
        dwell_s[s["category"]],
        start,
        end,
        out.venue,
        out.t_in,
        out.t_out,
        out.person,
        out.flags,
    )
    return out.take(slice(0, int(k))).sorted_by_venue()
