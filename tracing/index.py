"""The columnar view the kernels search: visits sorted by (venue, t_in), CSR venue offsets.

Why a view of its own: sealed segments are per day × venue shard, so one F0 trace over a
two-week window would touch hundreds of small files. Tracing instead keeps two *parts*: one
merged over every sealed segment (rebuilt when the manifest's file set changes) and one over
the unsealed hot tail (rebuilt when a tail version changes; it is small), each a single
(venue, t_in)-sorted table. A venue's rows are `off[v]:off[v+1]`, and `maxlen[v]` (its longest
stay) bounds the binary search, so a window costs one search plus the rows that can overlap it.

Resident bytes per visit: t_in 4 + t_out 4 + person 8 + flags 1 + person order 4 = 21
(DESIGN §9 asks <= 24); the venue column is implied by the offsets. `t_next` (the person's
next check-in that day, for the NHS rule) is built on first use only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.hotstore import HotStore
from storage.manifest import Manifest
from storage.records import SECONDS_PER_DAY, day_bounds, local_day
from storage.segments import Segment
from storage.visits import DEFAULT_DWELL_S, Visits, build_visits

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]


@dataclass(eq=False)
class IndexPart:
    """One searchable table of visits; rows sorted by (venue, t_in, person, t_out)."""

    off: I64
    t_in: U32
    t_out: U32
    person: npt.NDArray[np.uint64]
    flags: npt.NDArray[np.uint8]
    maxlen: U32
    person_order: U32
    _t_next: U32 | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.t_in)

    @property
    def nbytes(self) -> int:
        """Resident bytes of the columns (t_next included once built)."""
        cols = (self.off, self.t_in, self.t_out, self.person, self.flags, self.maxlen)
        extra = 0 if self._t_next is None else self._t_next.nbytes
        return sum(c.nbytes for c in cols) + self.person_order.nbytes + extra

    @classmethod
    def empty(cls) -> IndexPart:
        return cls.from_visits(Visits.empty())

    @classmethod
    def from_visits(cls, visits: Visits, *, presorted: bool = False) -> IndexPart:
        """Build from visits in any order (`presorted`: already in segment order)."""
        if not presorted and len(visits):
            visits = visits.sorted_by_venue()
        n_slots = int(visits.venue.max()) + 1 if len(visits) else 1
        counts = np.bincount(visits.venue, minlength=n_slots)
        off = np.zeros(n_slots + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        maxlen = np.zeros(n_slots, dtype=np.uint32)
        nonempty = np.flatnonzero(counts)
        if len(nonempty):
            lengths = (visits.t_out.astype(np.int64) - visits.t_in).clip(0).astype(np.uint32)
            maxlen[nonempty] = np.maximum.reduceat(lengths, off[nonempty])
        order = np.lexsort((visits.t_in, visits.person)).astype(np.uint32)
        return cls(
            off,
            np.ascontiguousarray(visits.t_in, dtype=np.uint32),
            np.ascontiguousarray(visits.t_out, dtype=np.uint32),
            np.ascontiguousarray(visits.person, dtype=np.uint64),
            np.ascontiguousarray(visits.flags, dtype=np.uint8),
            maxlen,
            order,
        )

    def venue_of(self, rows: npt.NDArray[np.integer]) -> I64:
        """Venue id of each row (from the offsets)."""
        return (np.searchsorted(self.off, rows, side="right") - 1).astype(np.int64)

    @property
    def t_next(self) -> U32:
        """The person's next check-in (a later second) the same local day, else local midnight."""
        if self._t_next is None:
            with self._lock:
                if self._t_next is None:
                    self._t_next = self._build_t_next()
        return self._t_next

    def _build_t_next(self) -> U32:
        o = self.person_order.astype(np.int64)
        t = self.t_in[o].astype(np.int64)
        day = local_day(self.t_in[o])
        day_end = day.astype(np.int64) * SECONDS_PER_DAY + day_bounds(0)[1]
        p = self.person[o]
        n = len(o)
        # the next row of a later second (rows of one person and second share their "next")
        change = np.flatnonzero((p[1:] != p[:-1]) | (t[1:] != t[:-1])) + 1
        j = np.append(change, n)[np.searchsorted(change, np.arange(n), side="right")]
        jj = np.minimum(j, n - 1)
        same = (j < n) & (p[jj] == p) & (day[jj] == day)
        nxt = np.where(same, t[jj], day_end)
        out = np.empty(len(o), dtype=np.uint32)
        out[o] = nxt
        return out


class IndexSource:
    """The sealed and hot parts of one data directory, cached by manifest files / tail versions.

    The view is taken under the manifest lock, like `storage.reader`, so a concurrent seal is
    seen entirely before or after: never a visit in both parts, never in neither.
    """

    def __init__(
        self,
        hot: HotStore,
        manifest: Manifest,
        segment_dir: Path,
        *,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
    ) -> None:
        self.hot = hot
        self.manifest = manifest
        self.segment_dir = Path(segment_dir)
        self.dwell_s = dwell_s
        self._sealed: tuple[tuple[str, ...], IndexPart] | None = None
        self._hot: tuple[tuple[tuple[int, int], ...], IndexPart] | None = None
        self._lock = threading.Lock()

    def parts(self) -> Sequence[IndexPart]:
        """[sealed part, hot part], rebuilt only when what they cover changed."""
        with self.manifest.lock:
            entries = [e for e in self.manifest.entries if e.rows]
            days = self.hot.tail_days()
            tails = {d: self.hot.tail_scans(d) for d in days}
        files = tuple(sorted(e.file for e in entries))
        hot_key = tuple((d, version) for d, (_s, _q, version) in sorted(tails.items()))
        with self._lock:
            sealed, hot = self._sealed, self._hot
        if sealed is None or sealed[0] != files:
            segments = [Segment.open(self.segment_dir, e) for e in entries]
            visits = Visits.concat([s.visits for s in segments])
            sealed = (files, IndexPart.from_visits(visits))
        if hot is None or hot[0] != hot_key:
            visits = Visits.concat(
                [build_visits(scans, d, self.dwell_s) for d, (scans, _q, _v) in tails.items()]
            )
            hot = (hot_key, IndexPart.from_visits(visits))
        with self._lock:
            self._sealed, self._hot = sealed, hot
        return [sealed[1], hot[1]]
