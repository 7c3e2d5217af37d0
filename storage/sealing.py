"""Sealing: turn a day's unsealed hot scans into verified segments, crash-safely.

Order of durable steps, and what a `kill -9` between any two leaves behind:

1. snapshot the day's tail (scans and the highest sequence in it) - nothing on disk yet;
2. build visits for the whole day at once (imputation needs the person's other venues, which
   live in other shards), split by venue shard;
3. write each shard's file: temp file, fsync, rename, fsync dir - a crash leaves a `*.tmp` or
   a complete file that no manifest entry names: an orphan, deleted at the next open;
4. commit the manifest (entries + "day sealed through sequence S") atomically - from here the
   segments are the truth and, on restart, the hot store leaves sequences <= S out of the
   tail;
5. trim the in-memory tail (under the manifest lock, with 4, so readers see one or the other).

The hot-log batches themselves stay (they back the scan_id de-duplication) until
`HotStore.drop_days_before` retires the day. Scans of a day that arrive after its seal stay in
the tail and a later seal writes them as the next generation; their visits are built from
those scans alone (an OUT then closes nothing and imputes its t_in), so seal a day once it is
over plus a grace period for late uploads (`due_days`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from storage.fsutil import remove_temp_files
from storage.hotstore import HotStore
from storage.manifest import Manifest, SegmentEntry
from storage.records import ScanArray, day_bounds
from storage.segments import DEFAULT_COMPRESSION, Compression, write_segment
from storage.tailview import TailView
from storage.visits import DEFAULT_DWELL_S, build_visits


@dataclass(frozen=True)
class SealResult:
    """What one seal wrote."""

    day: int
    generation: int
    scans: int
    visits: int
    entries: tuple[SegmentEntry, ...]
    seconds: float


def segment_name(day: int, generation: int, shard: int) -> str:
    """Relative path of a segment file: one folder per day, so retention drops folders."""
    return f"day={day}/g{generation:04d}-s{shard:05d}.arrow"


def remove_orphans(segment_dir: Path, manifest: Manifest) -> list[Path]:
    """Delete temp files and segment files the manifest does not name (crash leftovers)."""
    removed = remove_temp_files(segment_dir)
    live = manifest.files()
    if segment_dir.exists():
        for path in sorted(segment_dir.rglob("*.arrow")):
            if path.relative_to(segment_dir).as_posix() not in live:
                path.unlink()
                removed.append(path)
    return removed


def due_days(hot: TailView, now: int, grace_s: int) -> list[int]:
    """Days with unsealed scans whose local end is at least `grace_s` before `now`."""
    return [d for d in hot.tail_days() if day_bounds(d)[1] + grace_s <= now]


def seal_due_days(
    hot: TailView, seal_day: Callable[[int], SealResult | None], now: int, grace_s: int
) -> list[SealResult]:
    """Seal every day whose local end is at least `grace_s` before `now` (both data dirs)."""
    results = []
    for day in due_days(hot, now, grace_s):
        result = seal_day(day)
        if result is not None:
            results.append(result)
    return results


def last_tail_end(hot: TailView) -> int:
    """The end of the newest day with unsealed scans: `now` for sealing everything."""
    return max((day_bounds(d)[1] for d in hot.tail_days()), default=0)


class _Sharded(Protocol):
    """What a segment writer needs of its source: the hot log's shard count."""

    @property
    def n_shards(self) -> int: ...


H = TypeVar("H", bound=_Sharded)


class SegmentWriter(Generic[H]):
    """Where and how sealed days are written: one segment directory under one manifest.

    The base of `Sealer` (one hot store) and `storage.multiseal.MergedSealer` (the merged
    view of several): they differ only in where a day's scans come from and how the
    manifest records what was sealed.
    """

    def __init__(
        self,
        hot: H,
        manifest: Manifest,
        segment_dir: Path,
        *,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
        compression: Compression = DEFAULT_COMPRESSION,
    ) -> None:
        if manifest.n_shards != hot.n_shards:
            raise ValueError(
                f"manifest has n_shards={manifest.n_shards}, hot store {hot.n_shards}; "
                "expected the same layout"
            )
        self.hot = hot
        self.manifest = manifest
        self.segment_dir = Path(segment_dir)
        self.dwell_s = dwell_s
        self.compression: Compression = compression

    def write(self, scans: ScanArray, day: int, generation: int) -> tuple[int, list[SegmentEntry]]:
        """`write_day` with this writer's directory, shards, dwell and compression."""
        return write_day(
            self.segment_dir,
            scans,
            day,
            generation,
            self.manifest.n_shards,
            dwell_s=self.dwell_s,
            compression=self.compression,
        )


class Sealer(SegmentWriter[HotStore]):
    """Seals days of one hot store into one segment directory under one manifest."""

    def seal_day(self, day: int) -> SealResult | None:
        """Seal every unsealed scan of `day` now; None when there was nothing to seal."""
        started = time.perf_counter()
        scans, seq_hi, _version = self.hot.tail_scans(day)
        if len(scans) == 0:
            return None
        generation = self.manifest.next_generation(day)
        n_visits, entries = self.write(scans, day, generation)
        with self.manifest.lock:
            self.manifest.commit(entries, day, seq_hi)
            self.hot.mark_sealed(day, seq_hi)
        return SealResult(
            day, generation, len(scans), n_visits, tuple(entries), time.perf_counter() - started
        )


def write_day(
    segment_dir: Path,
    scans: ScanArray,
    day: int,
    generation: int,
    n_shards: int,
    *,
    dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
    compression: Compression = DEFAULT_COMPRESSION,
) -> tuple[int, list[SegmentEntry]]:
    """Steps 2-3: build the day's visits at once, write one file per venue shard.

    Returns (visits written, entries for the manifest); nothing is live until the caller
    commits the entries. Shared by `Sealer` and the multi-process `storage.multiseal`.
    """
    visits = build_visits(scans, day, dwell_s)
    visit_shard = visits.venue % n_shards
    scan_counts = np.bincount(scans["venue"] % n_shards, minlength=n_shards)
    entries: list[SegmentEntry] = []
    for shard in np.flatnonzero(scan_counts):
        part = visits.take(visit_shard == shard)
        entries.append(
            write_segment(
                segment_dir,
                segment_name(day, generation, int(shard)),
                part,
                day=day,
                shard=int(shard),
                generation=generation,
                scans=int(scan_counts[shard]),
                compression=compression,
            )
        )
    return len(visits), entries
