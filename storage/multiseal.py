"""Sealing for several ingest processes: one merged, de-duplicated day into the shard segments.

The same durable steps as `storage.sealing` (snapshot, build visits, write files, commit the
manifest, trim the tail), over `storage.multihot.MergedHot` instead of one hot store. The
differences that keep it exactly-once across processes:

- the snapshot is the merged tail, in which a scan that two processes both stored (a retry
  that landed elsewhere) appears once, and a scan already sealed never reappears;
- the manifest records the highest sequence sealed of EVERY process that contributed, in
  one atomic write with the segment entries (`Manifest.commit_processes`): a `kill -9`
  before it leaves orphan files (deleted at the next open) and no marks, so the next seal
  redoes the day; after it, each process's batches up to its mark are sealed, none twice.
"""

from __future__ import annotations

import time

from storage.manifest import SegmentEntry
from storage.multihot import MergedHot
from storage.sealing import SealResult, SegmentWriter


class MergedSealer(SegmentWriter[MergedHot]):
    """Seals days of a `MergedHot` view into one segment directory under one manifest."""

    def seal_day(self, day: int) -> SealResult | None:
        """Catch up with every process, then seal `day`'s merged tail; None when empty."""
        started = time.perf_counter()
        self.hot.refresh()
        scans, seq_hi, _version = self.hot.tail_parts(day)
        if not seq_hi:
            return None
        generation = self.manifest.next_generation(day)
        n_visits, entries = 0, list[SegmentEntry]()
        if len(scans):
            n_visits, entries = self.write(scans, day, generation)
        with self.manifest.lock:
            self.manifest.commit_processes(entries, day, seq_hi)
            self.hot.mark_sealed(day, seq_hi)
        if not len(scans):
            return None
        return SealResult(
            day, generation, len(scans), n_visits, tuple(entries), time.perf_counter() - started
        )
