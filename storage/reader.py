"""The read API for tracing: visits from sealed segments and the unsealed hot tail, merged.

A scan acknowledged a second ago can make someone an F1 (DESIGN §2), so every query looks at
both. The view is taken under the manifest lock, so a concurrent seal is seen entirely before
or entirely after, never as a scan in both places. All work is numpy slicing and binary
search; no per-row Python.

The hot tail's visits are built per day with the same kernel the sealer uses and cached by
the tail's version, so repeated queries between writes cost a search, not a rebuild.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.manifest import Manifest
from storage.records import local_day
from storage.segments import Segment
from storage.tailview import TailView
from storage.visits import DEFAULT_DWELL_S, Visits, build_visits


class StorageReader:
    """Venue and person range queries over one data directory's segments and hot tail."""

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
        self._segments: dict[str, Segment] = {}
        self._hot_visits: dict[int, tuple[int, Visits]] = {}
        self._cache_lock = threading.Lock()

    def _segment(self, file: str) -> Segment:
        with self._cache_lock:
            segment = self._segments.get(file)
        if segment is None:
            entry = next(e for e in self.manifest.entries if e.file == file)
            segment = Segment.open(self.segment_dir, entry)
            with self._cache_lock:
                self._segments[file] = segment
        return segment

    def _days(self, t_lo: int, t_hi: int) -> range:
        if t_hi <= t_lo:
            return range(0)
        bounds = local_day(np.array([t_lo, t_hi - 1], dtype=np.uint32))
        return range(int(bounds[0]), int(bounds[1]) + 1)

    def _view(self, days: range, shard: int | None) -> tuple[list[Segment], list[Visits]]:
        with self.manifest.lock:
            files = [
                e.file
                for e in self.manifest.entries
                if e.day in days and (shard is None or e.shard == shard) and e.rows
            ]
            tails = {d: self.hot.tail_scans(d) for d in days}
        hot = []
        for day, (scans, _seq, version) in tails.items():
            with self._cache_lock:
                cached = self._hot_visits.get(day)
            if cached is None or cached[0] != version:
                cached = (version, build_visits(scans, day, self.dwell_s))
                with self._cache_lock:
                    self._hot_visits[day] = cached
            hot.append(cached[1])
        return [self._segment(f) for f in files], hot

    def visits_at_venue(self, venue: int, t_lo: int, t_hi: int) -> Visits:
        """Visits at `venue` overlapping [t_lo, t_hi), ordered by (t_in, person)."""
        segments, hot = self._view(self._days(t_lo, t_hi), venue % self.hot.n_shards)
        parts = [s.at_venue(venue, t_lo, t_hi) for s in segments]
        for visits in hot:
            lo = int(np.searchsorted(visits.venue, venue, side="left"))
            hi = int(np.searchsorted(visits.venue, venue, side="right"))
            rows = visits.take(slice(lo, hi))
            parts.append(rows.take((rows.t_in < t_hi) & (rows.t_out > t_lo)))
        return Visits.concat(parts).sorted_by_venue()

    def visits_of_person(self, person: int, t_lo: int, t_hi: int) -> Visits:
        """The person's visits overlapping [t_lo, t_hi), ordered by (t_in, venue)."""
        segments, hot = self._view(self._days(t_lo, t_hi), None)
        parts = [s.of_person(person, t_lo, t_hi) for s in segments]
        for visits in hot:
            mask = (visits.person == np.uint64(person)) & (visits.t_in < t_hi)
            parts.append(visits.take(mask & (visits.t_out > t_lo)))
        return Visits.concat(parts).sorted_by_person()

    def forget(self, file: str) -> None:
        """Drop a cached segment (after retention removed it)."""
        with self._cache_lock:
            self._segments.pop(file, None)
