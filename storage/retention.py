"""Retention: days older than the retention window leave every store, bytes included.

A purge is a privacy promise ("kept 21 days"), so "deleted" means the bytes are gone from
the disk, not hidden by an index. For a cutoff day C, every day < C goes, in this order:

1. the hot log (`HotStore.drop_days_before`): range delete, memtable flush so the WAL files
   that held the values are retired, forced bottommost compaction; the scan-id index and
   the totals of those days are dropped with it;
2. the manifest entries and sealed marks of those days (one durable manifest write);
3. the segment folders `day=D/` (a crash between 2 and 3 leaves orphans that the next open
   deletes);
4. person-directory rows of people who appeared in the purged days and in no remaining day
   (then the directory is flushed and compacted the same way).

Each step is idempotent, so a purge interrupted by a crash is completed by the next one (the
maintenance scheduler runs one at start). Until then an expired day may still be served:
retention errs towards finishing the deletion, never towards losing unexpired data.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storage.directory import PersonDirectory
from storage.manifest import Manifest, SegmentEntry
from storage.records import local_day
from storage.segments import Segment
from storage.tailview import TailView

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed."""

    cutoff_day: int
    hot_scans: int
    segments: int
    segment_bytes: int
    days: tuple[int, ...]
    people_forgotten: int
    seconds: float


def cutoff_day(now: int, retention_days: int) -> int:
    """First local day kept when `retention_days` days (today included) are retained."""
    today = int(local_day(np.array([now], dtype=np.uint32))[0])
    return today - retention_days + 1


def _segment_persons(segment_dir: Path, entry: SegmentEntry) -> U64:
    """Distinct persons of a segment about to be deleted; unreadable files contribute none."""
    try:
        table = pa.ipc.open_file(pa.memory_map(str(segment_dir / entry.file), "r")).read_all()
        return np.unique(table.column("person").to_numpy())
    except (OSError, pa.ArrowInvalid, KeyError):
        return np.empty(0, np.uint64)


def purge_before(
    day: int,
    *,
    hot: TailView,
    manifest: Manifest,
    segment_dir: Path,
    directory: PersonDirectory | None = None,
    forget_segment: Callable[[str], None] | None = None,
) -> PurgeReport:
    """Remove every day < `day` from the hot log, manifest, segments and person directory."""
    started = time.perf_counter()
    expired_entries = [e for e in manifest.entries if e.day < day]
    persons = [_segment_persons(segment_dir, e) for e in expired_entries]
    dropped = hot.drop_days_before(day, include_unsealed=True)
    persons.append(dropped.persons)
    gone = manifest.drop_days_before(day)
    if forget_segment is not None:
        for entry in gone:
            forget_segment(entry.file)
    days: set[int] = {e.day for e in gone} | set(dropped.days)
    if segment_dir.exists():
        for folder in segment_dir.glob("day=*"):
            try:
                folder_day = int(folder.name.removeprefix("day="))
            except ValueError:
                continue
            if folder_day < day:
                days.add(folder_day)
                shutil.rmtree(folder)
    forgotten = 0
    if directory is not None:
        candidates = np.unique(np.concatenate(persons)) if persons else np.empty(0, np.uint64)
        candidates = _without_remaining(candidates, hot, manifest, segment_dir)
        if len(candidates):
            forgotten = directory.forget(candidates)
            directory.compact()
    return PurgeReport(
        cutoff_day=day,
        hot_scans=dropped.scans,
        segments=len(gone),
        segment_bytes=sum(e.bytes for e in gone),
        days=tuple(sorted(days)),
        people_forgotten=forgotten,
        seconds=time.perf_counter() - started,
    )


def _without_remaining(
    candidates: U64, hot: TailView, manifest: Manifest, segment_dir: Path
) -> U64:
    """Drop from `candidates` every person who still has a visit or scan on a kept day."""
    for d in hot.tail_days():
        if not len(candidates):
            return candidates
        candidates = candidates[~np.isin(candidates, hot.tail_scans(d)[0]["person"])]
    for entry in list(manifest.entries):
        if not len(candidates):
            break
        if entry.rows:
            segment = Segment.open(segment_dir, entry)
            candidates = candidates[~np.isin(candidates, segment.visits.person)]
    return candidates
