"""The durable hot store: an append-only log of acknowledged scan batches in RocksDB.

DESIGN §5 "LSM in miniature": per-scan keys would cap ingest near 150 k scans/s, so each
group commit appends the accepted scans as one packed value per (local day, venue shard)
under the fixed-width big-endian key `day u32 | shard u16 | sequence u64`. Range scans follow
the day, retention can `delete_range` a whole day, and sealing reads one day at a time.

One writer thread owns the database, fed by a bounded queue. It drains whatever requests are
waiting (up to `max_group_scans`), de-duplicates them and writes ONE WriteBatch; a second
thread then syncs the write-ahead log (`storage.walsync`, outside the GIL, which rocksdict's
own synced write holds) and only then resolves the callers' futures: one fsync covers many
acks (group commit), and an ack always means "on disk". The two stages overlap: while group N
is being synced, group N+1 is de-duplicated and written, and one sync covers every group
written before it started. A failed write or sync poisons the store: the de-duplication index may
already hold scans that never reached disk, so continuing could turn a retry into a false
DUPLICATE. Restarting rebuilds everything from the log.

De-duplication (`storage.dedupe`) is an in-memory index rebuilt from the log at open.
Sealing does not delete batches: it records in the manifest which sequences of a day are
sealed (`sealed` at open, `mark_sealed` later), which removes them from the in-memory tail
but keeps them in the log, and so in the index, until `drop_days_before` retires the day
once retries for it can no longer arrive. That keeps exactly-once across a seal.

Totals (`storage.totals`) are counted from the same log: at open from every batch, and from
each commit's accepted scans after its fsync, so they can never disagree with it. The tail
and the counters change only after the sync too: readers never see a scan that is not durable.
"""

from __future__ import annotations

import asyncio
import json
import queue
import struct
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from rocksdict import (
    BottommostLevelCompaction,
    CompactOptions,
    DBCompressionType,
    Options,
    Rdict,
    WriteBatch,
    WriteOptions,
)

from storage.dedupe import ScanIdIndex
from storage.dedupe_spill import ACTIVE_BYTES_PER_SCAN, SpillingScanIdIndex, clear_spill_dir
from storage.errors import (
    CorruptBatchError,
    StoreClosedError,
    StoreLayoutError,
    StoreOverloadedError,
)
from storage.hottail import SETTLED, Chunk, Tail
from storage.lifecycle import Closing
from storage.logchunks import log_chunks
from storage.records import (
    SCAN_DTYPE,
    ScanArray,
    empty_scans,
    pack,
    unpack,
)
from storage.totals import ScanTotals
from storage.walsync import WalSync

_KEY: Final = struct.Struct(">IHQ")
#: Day 0xFFFFFFFF is never a real day, so metadata sorts after every batch.
_META_PREFIX: Final = b"\xff\xff\xff\xff"
_LAYOUT_KEY: Final = _META_PREFIX + b"layout"
_STOP: Final = object()
_RECORD: Final = np.dtype(f"V{SCAN_DTYPE.itemsize}")

Verdicts = npt.NDArray[np.uint8]


def batch_key(day: int, shard: int, seq: int) -> bytes:
    """The 14-byte big-endian log key of one packed value."""
    return _KEY.pack(day, shard, seq)


def parse_batch_key(key: bytes) -> tuple[int, int, int]:
    """(day, shard, sequence) of a log key."""
    day, shard, seq = _KEY.unpack(key)
    return int(day), int(shard), int(seq)


@dataclass
class _Request:
    scans: ScanArray
    future: Future[Verdicts]


@dataclass
class _Written:
    """A group written to the log but not yet synced: what the sync stage finishes."""

    group: list[_Request]
    results: list[Verdicts]
    scans: ScanArray
    chunks: list[Chunk]


@dataclass(frozen=True)
class HotStoreStats:
    """Counters for metrics; `group_scans` holds the scans per fsync of recent commits."""

    commits: int
    requests: int
    scans_written: int
    tail_scans: int
    index_entries: int
    group_scans: npt.NDArray[np.int64] = field(repr=False)


@dataclass(frozen=True)
class DroppedDays:
    """What `drop_days_before` removed: scans, their local days and distinct persons."""

    scans: int
    days: tuple[int, ...]
    persons: npt.NDArray[np.uint64] = field(repr=False)


class HotStore(Closing):
    """Durable, de-duplicating scan log with an in-memory unsealed tail."""

    def __init__(
        self,
        path: Path,
        *,
        n_shards: int = 16,
        sealed: Mapping[int, int] | None = None,
        queue_size: int = 1024,
        max_group_scans: int = 65_536,
        sync: bool = True,
        index_capacity: int = 0,
        tail_memory_bytes: int = 32 << 20,
        index_memory_bytes: int = 0,
        spill_dir: Path | None = None,
    ) -> None:
        """Open (or create) the log at `path` and rebuild the index and tail from it.

        `sealed` maps a local day to the highest sequence already sealed into segments (from
        the manifest): those batches stay out of the tail. `sync=False` is for benchmarks only.
        `index_capacity` pre-sizes the exactly-once index so the writer does not pause to
        rehash it while a busy day fills it (it still grows past that).
        `max_group_scans` caps one group commit: its arrays exist several times over (joined,
        index rows, sorted, packed), so under a flood 262,144-scan groups held tens of MiB at
        once; one sync still covers every group written meanwhile.
        `tail_memory_bytes` bounds the unsealed scans kept in memory for readers; older tail
        values are read back from the log when asked for (`tail_scans`).
        With `spill_dir` and `index_memory_bytes` > 0 the exactly-once index keeps about that
        much in memory and the rest in run files there (`storage.dedupe_spill`), deleted and
        rebuilt from the log at open.
        """
        if not 1 <= n_shards <= 0xFFFF:
            raise ValueError(f"n_shards must be in [1, 65535], got {n_shards}")
        self.path = Path(path)
        self.n_shards = n_shards
        self._max_group_scans = max_group_scans
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        # 16 MiB memtables (default 64): the log is written once and read back rarely, so
        # a small write buffer costs little and bounds what a flood can park in memory
        options.set_write_buffer_size(16 << 20)
        # uncompressed: random scan ids and person ids barely compress (snappy saved little),
        # while compressing every flush and compaction cost ~0.1 CPU s per million scans
        options.set_compression_type(DBCompressionType.none())
        # every group commit writes all 16 shards' key ranges, so each level-0 file overlaps
        # all of level 1: compact 8 files at a time instead of 4 (level 1 is rewritten half as
        # often; compaction CPU 0.19 -> 0.14 s per million scans), stalls moved out of reach
        options.set_level_zero_file_num_compaction_trigger(8)
        options.set_level_zero_slowdown_writes_trigger(40)
        options.set_level_zero_stop_writes_trigger(64)
        self._db = Rdict(str(self.path), options)
        self._write_opts = WriteOptions()
        # `WriteOptions(sync=True)` is a TypeError in rocksdict: sync is an attribute. The log
        # is synced by `WalSync` instead, outside the GIL (module docstring).
        self._write_opts.sync = False
        self._wal = WalSync(self.path) if sync else None
        self._lock = threading.Lock()
        self._sealed: dict[int, int] = dict(sealed or {})
        #: unsealed values per day, merged as they come, scans resident within the budget
        self._tail = Tail(tail_memory_bytes)
        self._tail_version: dict[int, int] = {}
        self._spill_dir = spill_dir
        self._index_memory = index_memory_bytes
        if spill_dir is not None:
            clear_spill_dir(spill_dir)
        self._index = self._new_index(max(index_capacity, 1))
        #: held by the writer for a whole commit (index, write, bookkeeping) and by
        #: `drop_days_before` to swap in a rebuilt index: the index has one owner at a time
        self._commit_lock = threading.Lock()
        #: while an index rebuild runs: scans committed meanwhile, replayed into the new index
        self._catchup: list[ScanArray] | None = None
        #: accepted-scan counters (storage.totals), derived from the log: exact by construction
        self.totals = ScanTotals()
        self._next_seq = 0
        self._commits = 0
        self._requests = 0
        self._scans_written = 0
        self._group_scans: deque[int] = deque(maxlen=4096)
        self._failure: BaseException | None = None
        self._closed = False
        try:
            self._check_layout()
            self._rebuild()
        except BaseException:
            self._db.close()
            raise
        self._queue: queue.Queue[_Request | object] = queue.Queue(maxsize=queue_size)
        #: written, not yet synced groups (bounded by the request queue's bound)
        self._written: queue.Queue[_Written | object] = queue.Queue()
        self._syncer = threading.Thread(target=self._run_sync, name=f"hotsync:{path}", daemon=True)
        self._writer = threading.Thread(target=self._run, name=f"hotstore:{path}", daemon=True)
        self._syncer.start()
        self._writer.start()

    # ---------------------------------------------------------------- open

    def _new_index(self, capacity: int) -> ScanIdIndex | SpillingScanIdIndex:
        if self._spill_dir is None or self._index_memory <= 0:
            return ScanIdIndex(capacity)
        limit = max(1, self._index_memory // ACTIVE_BYTES_PER_SCAN)
        return SpillingScanIdIndex(self._spill_dir, active_limit=limit, capacity=capacity)

    def _check_layout(self) -> None:
        stored = self._db.get(_LAYOUT_KEY)
        if stored is None:
            layout = json.dumps({"n_shards": self.n_shards, "format": 1}).encode()
            opts = WriteOptions()
            opts.sync = True
            self._db.put(_LAYOUT_KEY, layout, opts)
            return
        n = json.loads(stored)["n_shards"]
        if n != self.n_shards:
            raise StoreLayoutError(
                f"hot store {self.path} was created with n_shards={n}, opened with "
                f"n_shards={self.n_shards}; expected the same shard count"
            )

    def _iter_batches(
        self, from_key: bytes | None = None, hi_key: bytes = _META_PREFIX
    ) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._db.items(from_key=from_key):
            assert isinstance(key, bytes)
            assert isinstance(value, bytes)
            if key >= hi_key:
                break
            yield key, value

    def _rebuild(self) -> None:
        unsealed: dict[int, list[int]] = {}  # day -> [lowest seq, highest seq, scans]
        for key, value in self._iter_batches():
            day, _shard, seq = parse_batch_key(key)
            scans = unpack(value, where=f"hot store {self.path} key {key.hex()}")
            verdicts = self._index.add(scans)
            if verdicts.any():
                raise CorruptBatchError(
                    f"hot store {self.path} key {key.hex()}: {int(np.count_nonzero(verdicts))}"
                    " scans already in the log; expected every logged scan to be unique"
                )
            self.totals.add(scans)
            self._next_seq = max(self._next_seq, seq + 1)
            if seq > self._sealed.get(day, -1):
                run = unsealed.setdefault(day, [seq, seq, 0])
                run[0], run[1], run[2] = min(run[0], seq), max(run[1], seq), run[2] + len(scans)
        # each day's unsealed values are every value of it above its sealed mark: one chunk
        # read back by range when first asked for (the log is in day, shard order, not
        # sequence order, so resident pieces could not be kept in log order here)
        for day, (lo, hi, n) in sorted(unsealed.items()):
            self._tail.keep(Chunk(day, -1, lo, hi, n, None, SETTLED))
        # never reuse a sequence the manifest marks sealed: a seal may have read a batch the
        # OS then lost before its fsync (power cut); a new batch under that number would
        # count as sealed and never be read (multi-process sealing reads the logs as written)
        self._next_seq = max(self._next_seq, 1 + max(self._sealed.values(), default=-1))
        for day in self._tail.days():
            self._tail_version[day] = 1

    # ---------------------------------------------------------------- writing

    def submit(
        self, scans: ScanArray, timeout: float | None = None, *, copy: bool = True
    ) -> Future[Verdicts]:
        """Queue a batch; the future resolves to one `Verdict` (u8) per scan once durable.

        Blocks while the queue is full (back-pressure); past `timeout` seconds raises
        `StoreOverloadedError`. `copy=False` hands the array over instead of copying it: the
        caller must not change it afterwards (ingest builds a fresh array per batch).
        """
        if scans.dtype != SCAN_DTYPE:
            raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
        self._raise_if_unusable()
        future: Future[Verdicts] = Future()
        try:
            batch = np.array(scans, copy=True) if copy else scans
            self._queue.put(_Request(batch, future), timeout=timeout)
        except queue.Full:
            raise StoreOverloadedError(
                f"hot store {self.path}: write queue full for {timeout} s; expected the "
                "writer to keep up (retry later)"
            ) from None
        return future

    async def submit_async(self, scans: ScanArray) -> Verdicts:
        """`submit` for asyncio callers (the queue put runs off the event loop)."""
        future = await asyncio.to_thread(self.submit, scans)
        return await asyncio.wrap_future(future)

    def _raise_if_unusable(self) -> None:
        if self._failure is not None:
            raise StoreClosedError(
                f"hot store {self.path} failed ({self._failure!r}); expected a restart"
            )
        if self._closed:
            raise StoreClosedError(f"hot store {self.path} is closed; expected an open store")

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            assert isinstance(first, _Request)
            group = [first]
            n = len(first.scans)
            while n < self._max_group_scans:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Request)
                group.append(item)
                n += len(item.scans)
            if self._failure is not None:  # the sync stage failed: nothing more is written
                self._fail_pending(group, self._failure)
                break
            try:
                written = self._commit(group)
            except BaseException as exc:
                self._failure = exc
                self._fail_pending(group, exc)
                break
            self._written.put(written)
        self._written.put(_STOP)

    def _run_sync(self) -> None:
        """Sync stage: one log sync for every group written before it, then the acks."""
        stopping = False
        while not stopping:
            first = self._written.get()
            if first is _STOP:
                break
            done = [first]
            while True:
                try:
                    item = self._written.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                done.append(item)
            ready = [w for w in done if isinstance(w, _Written)]
            try:
                if self._failure is not None:
                    raise self._failure
                if self._wal is not None and any(len(w.scans) for w in ready):
                    self._wal.sync()
            except BaseException as exc:
                self._failure = self._failure or exc
                for w in ready:  # and keep draining: every later group fails the same way
                    self._fail_pending(w.group, exc)
                continue
            for w in ready:
                self._publish(w)
                for request, verdicts in zip(w.group, w.results, strict=True):
                    request.future.set_result(verdicts)

    def _fail_pending(self, group: list[_Request], exc: BaseException) -> None:
        for request in group:
            if not request.future.done():
                request.future.set_exception(exc)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request):
                item.future.set_exception(
                    StoreClosedError(f"hot store {self.path} failed before this batch: {exc!r}")
                )

    def _commit(self, group: list[_Request]) -> _Written:
        with self._commit_lock:
            return self._commit_locked(group)

    def _commit_locked(self, group: list[_Request]) -> _Written:
        # One index probe, one mask and one sort per group, not per request: a group holds
        # hundreds of 1,000-scan requests and per-call numpy overhead is what costs here.
        sizes = [len(r.scans) for r in group]
        # joined as raw 36-byte records: numpy copies a structured dtype field by field
        every = (
            group[0].scans
            if len(group) == 1
            else np.concatenate([r.scans.view(_RECORD) for r in group]).view(SCAN_DTYPE)
        )
        verdicts = self._index.add(every)
        results = np.split(verdicts, np.cumsum(sizes)[:-1])
        scans, parts = log_chunks(every, verdicts, self.n_shards)
        chunks: list[Chunk] = []
        if parts:
            batch = WriteBatch(raw_mode=True)
            for day, shard, lo, hi in parts:
                seq = self._next_seq
                self._next_seq += 1
                part = scans[lo:hi]
                batch.put(batch_key(day, shard, seq), pack(part))
                chunks.append(Chunk.value(day, shard, seq, part))
            self._db.write(batch, self._write_opts)
            if self._catchup is not None:
                self._catchup.append(scans)
        return _Written(group, results, scans, chunks)

    def _publish(self, written: _Written) -> None:
        """After the sync: count the group and show its scans to readers."""
        self.totals.add(written.scans)
        with self._lock:
            for chunk in written.chunks:
                if chunk.seq > self._sealed.get(chunk.day, -1):
                    self._tail.keep(chunk)
                    self._tail_version[chunk.day] = self._tail_version.get(chunk.day, 0) + 1
            self._commits += 1
            self._requests += len(written.group)
            self._scans_written += len(written.scans)
            self._group_scans.append(len(written.scans))

    def _load(self, chunk: Chunk) -> ScanArray:
        """A chunk's scans: resident, or read back (and checked) from the log."""
        scans = chunk.resident()
        if scans is not None:
            return scans
        if chunk.shard >= 0:
            key = batch_key(chunk.day, chunk.shard, chunk.seq)
            value = self._db.get(key)
            if not isinstance(value, bytes):
                raise CorruptBatchError(f"hot store {self.path}: tail value {key.hex()} is missing")
            return unpack(value, where=f"hot store {self.path} key {key.hex()}")
        scans = self._read_run(chunk)
        if len(scans) != chunk.n:
            raise CorruptBatchError(
                f"hot store {self.path}: day {chunk.day} sequences {chunk.lo}..{chunk.seq} hold"
                f" {len(scans)} scans in the log; expected {chunk.n}"
            )
        return scans

    def _read_run(self, chunk: Chunk) -> ScanArray:
        """Every value of `chunk.day` with a sequence in `chunk.lo..chunk.seq`, in log order:
        one range per shard (keys are day, shard, sequence)."""
        found: list[tuple[int, ScanArray]] = []
        for shard in range(self.n_shards):
            lo = batch_key(chunk.day, shard, chunk.lo)
            hi = batch_key(chunk.day, shard, chunk.seq + 1)
            for key, value in self._iter_batches(from_key=lo, hi_key=hi):
                where = f"hot store {self.path} key {key.hex()}"
                found.append((parse_batch_key(key)[2], unpack(value, where=where)))
        found.sort(key=lambda item: item[0])
        return np.concatenate([s for _, s in found]) if found else empty_scans()

    # ---------------------------------------------------------------- reading

    def tail_days(self) -> list[int]:
        """Local days with unsealed scans, ascending."""
        with self._lock:
            return self._tail.days()

    def tail_version(self, day: int) -> int:
        """Changes whenever the day's tail changes (a cache key for derived visits)."""
        with self._lock:
            return self._tail_version.get(day, 0)

    def tail_scans(self, day: int) -> tuple[ScanArray, int, int]:
        """(unsealed scans of `day` in log order, their highest sequence or -1, version)."""
        with self._lock:
            chunks = self._tail.chunks(day)
            version = self._tail_version.get(day, 0)
        if not chunks:
            return empty_scans(), -1, version
        read = [(c, c.pieces is None, self._load(c)) for c in chunks]
        if any(from_log for _, from_log, _ in read):
            with self._lock:  # within the budget, the next reader finds them in memory
                for chunk, from_log, scans in read:
                    if from_log:
                        self._tail.readmit(chunk, scans)
        return (
            np.concatenate([scans for _, _, scans in read]),
            max(c.seq for c in chunks),
            version,
        )

    def sealed_through(self) -> dict[int, int]:
        """Copy of day -> highest sealed sequence, as this store knows it."""
        with self._lock:
            return dict(self._sealed)

    def mark_sealed(self, day: int, seq_hi: int) -> None:
        """Drop `day`'s batches up to `seq_hi` from the tail; call after the manifest is durable."""
        with self._lock:
            self._sealed[day] = max(seq_hi, self._sealed.get(day, -1))
            self._tail.seal(day, self._sealed[day], lambda rest: len(self._read_run(rest)))
            self._tail_version[day] = self._tail_version.get(day, 0) + 1

    def drop_days_before(self, day: int, *, include_unsealed: bool = False) -> DroppedDays:
        """Delete the log of every day < `day`, forget their scan ids and totals.

        Called by retention (`include_unsealed=True`: expired data goes whether sealed or
        not) or when retries for those days can no longer arrive (then they must be sealed).
        The bytes leave the disk, not just the index: range delete, memtable flush (so the
        WAL files that held the values become obsolete and are deleted), then a forced
        bottommost compaction of the range.

        The writer keeps committing meanwhile. The new index is built from the remaining log
        while scans committed during the build are recorded (`_catchup`) and replayed into it
        before the swap, both under the commit lock: a scan acked during the rebuild is never
        missing from the new index (which would turn its retry into a second ACCEPTED).
        """
        with self._lock:
            unsealed = [d for d in self._tail.days() if d < day]
        if unsealed and not include_unsealed:
            raise ValueError(f"days {unsealed} still have unsealed scans; expected them sealed")
        lo, hi = batch_key(0, 0, 0), batch_key(day, 0, 0)
        with self._commit_lock:
            self._catchup = []
        try:
            dropped = 0
            persons: list[npt.NDArray[np.uint64]] = []
            days: set[int] = set()
            for key, value in self._iter_batches(hi_key=hi):
                days.add(parse_batch_key(key)[0])
                scans = unpack(value)
                dropped += len(scans)
                persons.append(np.unique(scans["person"]))
            self._db.delete_range(lo, hi)
            self._db.flush(True)
            self._db.flush_wal(True)
            compact = CompactOptions()
            compact.set_bottommost_level_compaction(BottommostLevelCompaction.force())
            self._db.compact_range(lo, hi, compact)
            index = self._new_index(len(self._index))
            for _key, value in self._iter_batches(from_key=hi):
                index.add(unpack(value))
            with self._commit_lock:
                for scans in self._catchup:
                    index.add(scans)
                self._index, old = index, self._index
            old.close()
        finally:
            with self._commit_lock:
                self._catchup = None
        self.totals.drop_days_before(day)
        with self._lock:
            for d in self._tail.drop_before(day):
                self._tail_version[d] = self._tail_version.get(d, 0) + 1
            for d in [d for d in self._sealed if d < day]:
                del self._sealed[d]
        return DroppedDays(
            dropped,
            tuple(sorted(days)),
            np.unique(np.concatenate(persons)) if persons else np.empty(0, np.uint64),
        )

    def flush(self) -> None:
        """Write the memtable to files (the log is durable without it: the WAL has it)."""
        self._db.flush(True)

    def stats(self) -> HotStoreStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return HotStoreStats(
                commits=self._commits,
                requests=self._requests,
                scans_written=self._scans_written,
                tail_scans=self._tail.scans(),
                index_entries=len(self._index),
                group_scans=np.array(self._group_scans, dtype=np.int64),
            )

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Finish every queued batch, stop the writer and close the database."""
        if self._closed:
            return
        self._closed = True
        if self._writer.is_alive():
            self._queue.put(_STOP)
            self._writer.join()
        self._syncer.join()
        if self._wal is not None:
            self._wal.close()
        self._index.close()
        self._db.close()
