"""The hot tails of several ingest processes as one de-duplicated hot store, read-only.

With `ingest_processes = N` (DESIGN §8) process k writes its own RocksDB log: `hot/` for
k = 0 (the single-process layout, unchanged) and `hot-p<k>/` otherwise. SO_REUSEPORT spreads
connections, so a client that retries an unacknowledged batch on a new connection may land
on another process than its first try: both logs can then hold the same scan. Each process
de-duplicates only its own log; this view de-duplicates across them.

How it reads: RocksDB secondary instances (`AccessType.secondary`) follow each primary
without taking its lock. `refresh()` catches every secondary up and reads only the batches
written since the last refresh (per (day, shard) cursors: a process numbers its batches in
commit order, so new batches of a (day, shard) always sort after the cursor), then passes
them through ONE `ScanIdIndex` over all processes: a scan already seen (same id, same
content) is a cross-process duplicate and dropped; same id with other content is a conflict,
dropped and logged (counts, day and process only, never a person).

Which copy wins, deterministically: a copy in an already sealed batch always wins (at open,
sealed batches of every process are read before any unsealed one); otherwise the copy the
view read first, where one refresh reads processes in order 0, 1, ... and each process's
batches in (day, shard, sequence) order. Same-content copies are interchangeable, so only a
reused id with other content (a buggy or hostile client) depends on read order.

Why a view and not "seal often": a scan acknowledged a second ago can make someone an F1
(DESIGN §2), so officers must see the tails; sealing every second would write thousands of
tiny segments. The costs: one catch-up per process per refresh (~10 ms), a second copy of
the exactly-once index in the supervisor (~60 bytes per retained scan), and a read lag of
one refresh interval. The single-process node never uses this module.

Totals are counted from the de-duplicated stream, so they are exact across processes.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from rocksdict import AccessType, Options, Rdict, RdictIter

from storage.dedupe import ScanIdIndex, Verdict
from storage.dedupe_spill import ACTIVE_BYTES_PER_SCAN, SpillingScanIdIndex, clear_spill_dir
from storage.hotstore import _META_PREFIX, DroppedDays, batch_key, parse_batch_key
from storage.lifecycle import Closing
from storage.records import ScanArray, empty_scans, unpack
from storage.totals import ScanTotals

log = logging.getLogger(__name__)
HOT_PREFIX: Final = "hot-p"


def hot_dir(root: Path, process: int) -> Path:
    """The hot store of ingest process `process`: `hot/` for 0 (single-process layout)."""
    return Path(root) / ("hot" if process == 0 else f"{HOT_PREFIX}{process}")


def process_dirs(root: Path, processes: int) -> dict[int, Path]:
    """Hot stores to merge: processes 0..N-1 plus any `hot-p<k>` a larger N left behind.

    A store left by an earlier, larger N may still hold unsealed scans, so it is merged
    until retention empties it.
    """
    dirs = {k: hot_dir(root, k) for k in range(processes)}
    for path in Path(root).glob(f"{HOT_PREFIX}*"):
        suffix = path.name.removeprefix(HOT_PREFIX)
        if suffix.isdigit() and path.is_dir():
            dirs.setdefault(int(suffix), path)
    return dict(sorted(dirs.items()))


@dataclass(frozen=True)
class _Batch:
    """One packed log value as read: its process, key parts and accepted (unique) scans."""

    process: int
    day: int
    shard: int
    seq: int
    scans: ScanArray


@dataclass(frozen=True)
class MergeStats:
    """Counters for metrics and tests."""

    refreshes: int
    batches_read: int
    duplicates: int
    conflicts: int
    tail_scans: int


class MergedHot(Closing):
    """Read-only, de-duplicated union of several processes' hot logs (see module doc)."""

    def __init__(
        self,
        stores: Mapping[int, Path],
        secondary_root: Path,
        *,
        n_shards: int = 16,
        sealed: Mapping[int, Mapping[int, int]] | None = None,
        index_memory_bytes: int = 0,
        spill_dir: Path | None = None,
    ) -> None:
        """Open a secondary per store (`stores`: process -> hot dir) and read every log.

        `sealed` maps process -> day -> highest sealed sequence (the manifest's marks).
        Secondary instances keep their own small files under `secondary_root/p<k>`. With
        `spill_dir` and `index_memory_bytes` > 0 the merged exactly-once index is bounded as
        the hot store's is (`storage.dedupe_spill`; run files rebuilt at open).
        """
        self.n_shards = n_shards
        self.secondary_root = Path(secondary_root)
        self._dbs: dict[int, Rdict] = {}
        self._sealed = {k: dict(v) for k, v in (sealed or {}).items()}
        self._cursor: dict[tuple[int, int, int], int] = {}
        self._tail: dict[int, list[_Batch]] = {}
        self._version: dict[int, int] = {}
        self._spill_dir = spill_dir
        self._index_memory = index_memory_bytes
        if spill_dir is not None:
            clear_spill_dir(spill_dir)
        self._index = self._new_index(1)
        self.totals = ScanTotals()
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshes = self._batches = self._duplicates = self._conflicts = 0
        try:
            for process, path in sorted(stores.items()):
                self._dbs[process] = self._open(process, Path(path))
            self._absorb(self._read_new(), initial=True)
        except BaseException:
            self.close()
            raise

    def _new_index(self, capacity: int) -> ScanIdIndex | SpillingScanIdIndex:
        if self._spill_dir is None or self._index_memory <= 0:
            return ScanIdIndex(capacity)
        limit = max(1, self._index_memory // ACTIVE_BYTES_PER_SCAN)
        return SpillingScanIdIndex(self._spill_dir, active_limit=limit, capacity=capacity)

    def _open(self, process: int, path: Path) -> Rdict:
        secondary = self.secondary_root / f"p{process}"
        shutil.rmtree(secondary, ignore_errors=True)
        secondary.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.set_max_open_files(-1)  # required by secondary instances
        return Rdict(str(path), options, access_type=AccessType.secondary(str(secondary)))

    # ---------------------------------------------------------------- reading the logs

    def _read_new(self) -> list[_Batch]:
        """Every batch written since the last call, in (process, day, shard, seq) order."""
        out: list[_Batch] = []
        for process, db in self._dbs.items():
            db.try_catch_up_with_primary()
            it = db.iter()
            day = 0
            while True:
                it.seek(batch_key(day, 0, 0))
                if not it.valid() or it.key() >= _META_PREFIX:
                    break
                day = parse_batch_key(it.key())[0]
                for shard in range(self.n_shards):
                    out.extend(self._read_range(process, it, day, shard))
                day += 1
        return out

    def _read_range(self, process: int, it: RdictIter, day: int, shard: int) -> list[_Batch]:
        cursor = (process, day, shard)
        prefix = batch_key(day, shard, 0)[:6]
        it.seek(batch_key(day, shard, self._cursor.get(cursor, -1) + 1))
        found = []
        while it.valid() and it.key()[:6] == prefix:
            key, value = it.key(), it.value()
            seq = parse_batch_key(key)[2]
            where = f"hot store of process {process} key {key.hex()}"
            found.append(_Batch(process, day, shard, seq, unpack(value, where=where)))
            self._cursor[cursor] = seq
            it.next()
        return found

    def _is_sealed(self, batch: _Batch) -> bool:
        return batch.seq <= self._sealed.get(batch.process, {}).get(batch.day, -1)

    def _absorb(self, batches: list[_Batch], *, initial: bool = False) -> None:
        """De-duplicate `batches` against everything read before; the rest joins the tail."""
        if initial:  # sealed copies first, so they win (they are in segments already)
            batches.sort(key=lambda b: not self._is_sealed(b))
        if not batches:
            return
        every = np.concatenate([b.scans for b in batches])
        verdicts = self._index.add(every)
        accepted = verdicts == Verdict.ACCEPTED
        duplicates = int(np.count_nonzero(verdicts == Verdict.DUPLICATE))
        conflicts = int(np.count_nonzero(verdicts == Verdict.CONFLICT))
        self.totals.add(every[accepted])
        cuts = np.cumsum([len(b.scans) for b in batches])[:-1]
        kept = [
            _Batch(b.process, b.day, b.shard, b.seq, b.scans[mask])
            for b, mask in zip(batches, np.split(accepted, cuts), strict=True)
        ]
        if conflicts:
            days = sorted({b.day for b, v in zip(batches, np.split(verdicts, cuts), strict=True)
                           if (v == Verdict.CONFLICT).any()})  # fmt: skip
            log.warning(
                "scan ids reused with other content across ingest processes; kept the first",
                extra={"conflicts": conflicts, "days": days},
            )
        with self._lock:
            for batch in kept:
                if not self._is_sealed(batch):
                    self._tail.setdefault(batch.day, []).append(batch)
                    self._version[batch.day] = self._version.get(batch.day, 0) + 1
            self._batches += len(batches)
            self._duplicates += duplicates
            self._conflicts += conflicts
            self._refreshes += 1

    def refresh(self) -> int:
        """Catch up with every process; returns the batches read."""
        with self._refresh_lock:
            batches = self._read_new()
            self._absorb(batches)
            return len(batches)

    # ---------------------------------------------------------------- the HotStore read API

    def tail_days(self) -> list[int]:
        """Local days with unsealed scans, ascending."""
        with self._lock:
            return sorted(d for d, parts in self._tail.items() if any(len(p.scans) for p in parts))

    def tail_version(self, day: int) -> int:
        """Changes whenever the day's merged tail changes."""
        with self._lock:
            return self._version.get(day, 0)

    def tail_parts(self, day: int) -> tuple[ScanArray, dict[int, int], int]:
        """(unique unsealed scans of `day`, process -> highest sequence read, version)."""
        with self._lock:
            parts = list(self._tail.get(day, ()))
            version = self._version.get(day, 0)
        seq_hi: dict[int, int] = {}
        for part in parts:
            seq_hi[part.process] = max(part.seq, seq_hi.get(part.process, -1))
        scans = np.concatenate([p.scans for p in parts]) if parts else empty_scans()
        return scans, seq_hi, version

    def tail_scans(self, day: int) -> tuple[ScanArray, int, int]:
        """`HotStore.tail_scans`; the sequence is -1 (sequences are per process here)."""
        scans, _seq, version = self.tail_parts(day)
        return scans, -1, version

    def mark_sealed(self, day: int, seq_hi: Mapping[int, int]) -> None:
        """Drop `day`'s batches up to each process's sequence from the tail (after the commit)."""
        with self._lock:
            for process, seq in seq_hi.items():
                marks = self._sealed.setdefault(process, {})
                marks[day] = max(seq, marks.get(day, -1))
            self._tail[day] = [b for b in self._tail.get(day, []) if not self._is_sealed(b)]
            self._version[day] = self._version.get(day, 0) + 1

    def drop_days_before(self, day: int, *, include_unsealed: bool = False) -> DroppedDays:
        """Retention: forget every day < `day` (each process purges its own log's bytes).

        Persons are those of the unsealed scans dropped; sealed ones are in the segments,
        which `storage.retention` reads itself. The index is rebuilt from the kept days.
        """
        with self._refresh_lock:
            with self._lock:
                old = [d for d in self._tail if d < day]
                unsealed = [d for d in old if any(len(b.scans) for b in self._tail[d])]
                if unsealed and not include_unsealed:
                    raise ValueError(f"days {unsealed} still have unsealed scans; expected sealed")
                gone = [b for d in old for b in self._tail.pop(d)]
                for d in old:
                    self._version[d] = self._version.get(d, 0) + 1
                for marks in self._sealed.values():
                    for d in [d for d in marks if d < day]:
                        del marks[d]
            self.totals.drop_days_before(day)
            self._cursor = {c: s for c, s in self._cursor.items() if c[1] >= day}
            previous, self._index = self._index, self._new_index(len(self._index))
            previous.close()
            kept = [b for b in self._read_absorbed() if b.day >= day]
            kept.sort(key=lambda b: not self._is_sealed(b))
            for batch in kept:
                self._index.add(batch.scans)
        scans = sum(len(b.scans) for b in gone)
        persons = [np.unique(b.scans["person"]) for b in gone]
        return DroppedDays(
            scans,
            tuple(sorted({b.day for b in gone})),
            np.unique(np.concatenate(persons)) if persons else np.empty(0, np.uint64),
        )

    def _read_absorbed(self) -> list[_Batch]:
        """Every batch at or below the cursors, re-read from the (caught up) secondaries."""
        out = []
        for process, db in self._dbs.items():
            for key, value in db.items():
                assert isinstance(key, bytes)
                if key >= _META_PREFIX:
                    break
                day, shard, seq = parse_batch_key(key)
                if seq <= self._cursor.get((process, day, shard), -1):
                    assert isinstance(value, bytes)
                    out.append(_Batch(process, day, shard, seq, unpack(value)))
        return out

    def stats(self) -> MergeStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return MergeStats(
                refreshes=self._refreshes,
                batches_read=self._batches,
                duplicates=self._duplicates,
                conflicts=self._conflicts,
                tail_scans=sum(len(b.scans) for parts in self._tail.values() for b in parts),
            )

    def close(self) -> None:
        """Close the secondary instances (the primaries are the processes' business)."""
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()
        if hasattr(self, "_index"):
            self._index.close()
