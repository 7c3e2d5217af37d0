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

from storage.domain import LOCAL_UTC_OFFSET_S
from storage.manifest import Manifest, SegmentEntry
from storage.records import SECONDS_PER_DAY, day_bounds, local_day
from storage.segments import Segment
from storage.tailview import TailView
from storage.visits import DEFAULT_DWELL_S, Visits, build_visits
from tracing.index_kernels import (
    drop_rows,
    merge_order,
    merge_rows,
    next_later,
    rows_of_persons,
)

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
    #: a view (`with_peers`) shares its base's columns and its base's own `t_next`
    _base: IndexPart | None = field(default=None, repr=False)
    _peers: tuple[IndexPart, ...] = field(default=(), repr=False)

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
        maxlen = _longest_stays(off, visits.t_in, visits.t_out)
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

    def merged(self, other: IndexPart) -> IndexPart:
        """This part and `other` as one part, without re-sorting (this part's rows first on
        ties, as a rebuild over older-then-newer segments orders them)."""
        if not len(other):
            return self
        if not len(self):
            return other
        off, t_in, t_out, person, flags, a_pos, b_pos = merge_rows(
            self.off, self.t_in, self.t_out, self.person, self.flags,
            other.off, other.t_in, other.t_out, other.person, other.flags,
        )  # fmt: skip
        b_order = other.person_order
        order = merge_order(
            self.person_order, self.person, self.t_in, a_pos,
            other.person[b_order], other.t_in[b_order], b_pos[b_order],
        )  # fmt: skip
        maxlen = np.zeros(len(off) - 1, dtype=np.uint32)
        for m in (self.maxlen, other.maxlen):
            np.maximum(maxlen[: len(m)], m, out=maxlen[: len(m)])
        return IndexPart(off, t_in, t_out, person, flags, maxlen, order)

    def without_days(self, days: npt.ArrayLike) -> IndexPart:
        """The rows whose check-in falls on none of the local `days` (retention's removal)."""
        drop = np.zeros(len(self), dtype=np.bool_)
        for day in np.unique(np.asarray(days, dtype=np.int64)).tolist():
            lo, hi = day_bounds(day)
            drop |= (self.t_in >= lo) & (self.t_in < hi)
        if not drop.any():
            return self
        return IndexPart(
            *drop_rows(
                self.off, self.t_in, self.t_out, self.person, self.flags, self.person_order, drop
            )
        )

    def with_peers(self, peers: Sequence[IndexPart]) -> IndexPart:
        """A view of this part (same columns) whose `t_next` also sees `peers`' check-ins.

        The NHS rule ends a visit without check-out at the person's next check-in that day,
        which may sit in another part (a late scan in the hot tail of a sealed day).
        """
        base = self._base or self
        return IndexPart(
            self.off, self.t_in, self.t_out, self.person, self.flags, self.maxlen,
            self.person_order, _base=base, _peers=tuple(p._base or p for p in peers),
        )  # fmt: skip

    def venue_of(self, rows: npt.NDArray[np.integer]) -> I64:
        """Venue id of each row (from the offsets)."""
        return (np.searchsorted(self.off, rows, side="right") - 1).astype(np.int64)

    @property
    def t_next(self) -> U32:
        """The person's next check-in (a later second) the same local day, else local midnight;
        over this part and its peers (a view's own-part values are cached on its base)."""
        if self._t_next is None:
            with self._lock:
                if self._t_next is None:
                    own = self._base.t_next if self._base is not None else self._build_t_next()
                    self._t_next = self._with_peer_checkins(own)
        return self._t_next

    def _with_peer_checkins(self, own: U32) -> U32:
        """`own` lowered where a peer part holds an earlier same-day later check-in."""
        peers = [p for p in self._peers if len(p)]
        if not peers or not len(self):
            return own
        keys = np.unique(min([self, *peers], key=len).person)
        mine = rows_of_persons(self.person, self.person_order, keys)
        rows = [rows_of_persons(p.person, p.person_order, keys) for p in peers]
        cand_p = np.concatenate([p.person[r] for p, r in zip(peers, rows, strict=True)])
        cand_t = np.concatenate([p.t_in[r] for p, r in zip(peers, rows, strict=True)])
        order = np.lexsort((cand_t, cand_p))
        nxt = next_later(
            self.person[mine], self.t_in[mine], cand_p[order], cand_t[order], LOCAL_UTC_OFFSET_S
        )
        better = (nxt >= 0) & (nxt < own[mine])
        if not better.any():
            return own
        out = own.copy()
        out[mine[better]] = nxt[better]
        return out

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


def _longest_stays(off: I64, t_in: U32, t_out: U32) -> U32:
    """Longest stay per venue slot (the search bound), 0 for an empty slot."""
    maxlen = np.zeros(len(off) - 1, dtype=np.uint32)
    nonempty = np.flatnonzero(np.diff(off))
    if len(nonempty):
        lengths = (t_out.astype(np.int64) - t_in).clip(0).astype(np.uint32)
        maxlen[nonempty] = np.maximum.reduceat(lengths, off[nonempty])
    return maxlen


def link_parts(parts: Sequence[IndexPart]) -> list[IndexPart]:
    """Views of `parts` whose `t_next` spans all of them (see `IndexPart.with_peers`)."""
    return [p.with_peers([q for q in parts if q is not p]) for p in parts]


class IndexSource:
    """The sealed and hot parts of one data directory, cached by manifest files / tail versions.

    The view is taken under the manifest lock, like `storage.reader`, so a concurrent seal is
    seen entirely before or after: never a visit in both parts, never in neither. The sealed
    part is maintained incrementally: a new seal's segments are read alone and merged in
    (`IndexPart.merged`), retention's removal of whole days filters them out
    (`IndexPart.without_days`, checked against the manifest's row counts); anything else (a
    rewritten file, a reordered manifest) rebuilds it from every segment.
    """

    def __init__(
        self,
        hot: TailView,
        manifest: Manifest,
        segment_dir: Path,
        *,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
    ) -> None:
        self.hot = hot
        self.manifest = manifest
        self.segment_dir = Path(segment_dir)
        self.dwell_s = dwell_s
        self._sealed: tuple[tuple[str, ...], IndexPart, tuple[SegmentEntry, ...]] | None = None
        self._hot: tuple[tuple[tuple[int, int], ...], IndexPart] | None = None
        self._lock = threading.Lock()
        #: how the sealed part was last brought up to date: "rebuilt", "merged" or "kept"
        self.last_sealed_update = "kept"

    def snapshot(self) -> tuple[tuple[SegmentEntry, ...], IndexPart]:
        """(non-empty manifest entries, hot part) seen together: the distributed engine's view
        (its workers read the entries' files; the hot part travels as one more partition)."""
        with self.manifest.lock:
            entries = tuple(e for e in self.manifest.entries if e.rows)
            days = self.hot.tail_days()
            tails = {d: self.hot.tail_scans(d) for d in days}
        hot_key = tuple((d, version) for d, (_s, _q, version) in sorted(tails.items()))
        with self._lock:
            hot = self._hot
        if hot is None or hot[0] != hot_key:
            visits = Visits.concat(
                [build_visits(scans, d, self.dwell_s) for d, (scans, _q, _v) in tails.items()]
            )
            hot = (hot_key, IndexPart.from_visits(visits))
            with self._lock:
                self._hot = hot
        return entries, hot[1]

    def parts(self) -> Sequence[IndexPart]:
        """[sealed part, hot part], rebuilt only when what they cover changed."""
        entries, hot = self.snapshot()
        files = tuple(sorted(e.file for e in entries))
        with self._lock:
            sealed = self._sealed
        if sealed is None or sealed[0] != files:
            sealed = (files, self._sealed_part(sealed, entries), entries)
        with self._lock:
            self._sealed = sealed
        return [sealed[1], hot]

    def _read(self, entries: Sequence[SegmentEntry]) -> IndexPart:
        segments = [Segment.open(self.segment_dir, e) for e in entries]
        return IndexPart.from_visits(Visits.concat([s.visits for s in segments]))

    def _sealed_part(
        self,
        old: tuple[tuple[str, ...], IndexPart, tuple[SegmentEntry, ...]] | None,
        entries: tuple[SegmentEntry, ...],
    ) -> IndexPart:
        """The sealed part for `entries`, from `old` when only whole days went and new
        segments came after every kept one; else rebuilt."""
        if old is not None:
            part = _updated(old[1], old[2], entries)
            if part is not None:
                added = [e for e in entries if e.file not in {o.file for o in old[2]}]
                self.last_sealed_update = "merged"
                return part.merged(self._read(added)) if added else part
        self.last_sealed_update = "rebuilt"
        return self._read(entries)


def _updated(
    part: IndexPart, old: tuple[SegmentEntry, ...], new: tuple[SegmentEntry, ...]
) -> IndexPart | None:
    """`part` (built from `old`) less the removed entries, or None when that can't be exact."""
    new_files = {e.file for e in new}
    old_files = {e.file for e in old}
    removed = [e for e in old if e.file not in new_files]
    kept = [e.file for e in new if e.file in old_files]
    if kept != [e.file for e in old if e.file in new_files]:
        return None  # kept entries reordered
    if kept and any(e.file not in old_files for e in new[: len(kept)]):
        return None  # a new entry before a kept one: ties would order differently
    if not removed:
        return part
    days = {e.day for e in removed}
    if any(e.day in days for e in new):
        return None  # part of a day went (a rewrite), not a whole day
    trimmed = part.without_days(sorted(days))
    if len(part) - len(trimmed) != sum(e.rows for e in removed):
        return None
    return trimmed
