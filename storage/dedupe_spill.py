"""Exactly-once within a memory budget: the scan-id index spills to bucketed run files.

Why: the in-memory index (`storage.dedupe.ScanIdIndex`) costs ~56 B per scan for as long as a
retry may arrive (the day's end plus grace). A flood at capacity accepts tens of millions of
scans in half a minute, so memory grew by gigabytes. Now only the newest scans (at most
`active_limit`) sit in that exact in-memory table ("active"). When it is full it is frozen:

- its rows (key and content, 5 words as in memory) go to a run file as the table holds
  them, with direct I/O, while a counting-sort pass builds the run's bucket index: per
  bucket of the key hash's top bits (~4-8 rows a bucket), entries of the row number and
  the hash's top 40 bits (`_Run`). Run files were sorted by hash before: an `argsort`
  (~21 ms), a gathered sorted copy and a cached write made the freeze ~17 % of the stream
  benchmark's writer thread;
- its keys go into one blocked Bloom filter shared by all runs (16 bits per key, one
  512-bit block per key: ~0.1 % false positives, one cache line per probe, prefetched),
  added from the index entries in bucket order (a sweep of the filter); a filter that must
  grow is rebuilt from the runs' entries, not their rows;
- the table is then emptied in place (`ScanIdIndex.clear`), not reallocated: its pages stay
  mapped, so the next inserts pay no first-touch page faults (a fresh table's inserts were
  ~1.6x slower); its memory is what the old table held until it was freed.

A query probes the filter first; only its rare positives (and real repeats of old scans)
read the run files, newest first: a few with small reads, more through a memory mapping
unmapped after, so the files never stay in the server's memory. A false positive reads one
bucket's offset and entries; a row only where 40 bits of hash match. The comparison is the
active table's: whole key, then whole content (DUPLICATE vs CONFLICT), so verdicts stay
exact; the filter only decides who may skip the files. Run files are derived data: the hot
log is the authority, the hot store deletes them at open and rebuilds the index from the
log, so their format carries no version.

Not thread-safe: the hot store's writer owns it (as `ScanIdIndex`); a freeze runs its
direct write in a short-lived thread of its own and joins it.
"""

from __future__ import annotations

import itertools
import mmap
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.dedupe import (
    AHEAD,
    ScanIdIndex,
    Verdict,
    _hash,
    _zeroed_slots,
    prefetch,
    split_rows,
)
from storage.jit import CACHE, NOGIL
from storage.records import SCAN_DTYPE, ScanArray

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

#: u64 words per 512-bit Bloom block; bits set per key; filter bits per designed key
_BLOCK_WORDS: Final = 8
_K: Final = 7
_BITS_PER_KEY: Final = 16
#: bytes per scan of the active table at its fullest (rows 40 B + slots <= 32 B)
ACTIVE_BYTES_PER_SCAN: Final = 72
#: index entries read back at a time when the filter is rebuilt from the run files
_READ_ENTRIES: Final = 1 << 18
#: low bits of an index entry holding its row number (the hash's top 40 bits above them):
#: a run holds at most 2^24 rows, so the active table at most half that and adds are cut
#: into parts of at most a quarter (a freeze holds at most the limit plus one part)
_ROW_BITS: Final = 24
_MAX_ACTIVE: Final = 1 << (_ROW_BITS - 1)
_MAX_PART: Final = 1 << (_ROW_BITS - 2)
#: rows a run file's bucket holds on average at least (its bucket count is a power of two)
_ROWS_PER_BUCKET: Final = 4
#: u64 words of a row: key hi, key lo, 3 content words (`storage.dedupe`)
_ROW: Final = 5
#: alignment of direct I/O (buffer, offset and length): a page covers every block size
_PAGE: Final = mmap.PAGESIZE
#: candidates up to which a run is probed with small reads instead of a memory mapping
_FEW: Final = 3
_OFFSETS: Final = struct.Struct("<II")
_ROW_WORDS: Final = struct.Struct(f"<{_ROW}Q")
_generation = itertools.count()


@njit(cache=CACHE, nogil=NOGIL, inline="always")
def _bloom_block(bits: U64, h: np.uint64) -> tuple[np.uint64, np.uint64]:  # pragma: no cover
    """The first word of the key's 512-bit block, and the bits to set/test within it.

    Only the hash's top 40 bits count (`_ROW_BITS` below them hold a run entry's row
    number), so a run's index alone rebuilds the filter. The block comes from the top 32
    bits by multiply-shift, monotone in them: keys in bucket order sweep the filter in order.
    """
    n_blocks = np.uint64(bits.shape[0] // _BLOCK_WORDS)
    base = (((h >> np.uint64(32)) * n_blocks) >> np.uint64(32)) * np.uint64(_BLOCK_WORDS)
    x = (h >> np.uint64(_ROW_BITS)) * np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(29)
    return base, x


@njit(cache=CACHE, nogil=NOGIL)
def _bloom_add(bits: U64, h: np.uint64) -> None:  # pragma: no cover
    base, x = _bloom_block(bits, h)
    for j in range(_K):
        pos = (x >> np.uint64(9 * j)) & np.uint64(511)
        bits[base + (pos >> np.uint64(6))] |= np.uint64(1) << (pos & np.uint64(63))


@njit(cache=CACHE, nogil=NOGIL)
def _bloom_has(bits: U64, h: np.uint64) -> bool:  # pragma: no cover
    base, x = _bloom_block(bits, h)
    for j in range(_K):
        pos = (x >> np.uint64(9 * j)) & np.uint64(511)
        if bits[base + (pos >> np.uint64(6))] & (np.uint64(1) << (pos & np.uint64(63))) == 0:
            return False
    return True


@njit(cache=CACHE, nogil=NOGIL)
def _bloom(bits: U64, rows: U64, add: bool, out: Mask) -> None:  # pragma: no cover
    """Add the keys of `rows` to the filter, or write whether each may be in it to `out`."""
    n = rows.shape[0]
    ahead = np.empty(AHEAD, dtype=np.uint64)  # hashes of the next keys, blocks prefetched
    for i in range(min(AHEAD, n)):
        ahead[i] = _hash(rows[i, 0], rows[i, 1])
        prefetch(bits, _bloom_block(bits, ahead[i])[0])
    for i in range(n):
        h = ahead[i % AHEAD]
        if i + AHEAD < n:
            ahead[i % AHEAD] = _hash(rows[i + AHEAD, 0], rows[i + AHEAD, 1])
            prefetch(bits, _bloom_block(bits, ahead[i % AHEAD])[0])
        if add:
            _bloom_add(bits, h)
        else:
            out[i] = _bloom_has(bits, h)


@njit(cache=CACHE, nogil=NOGIL)
def _key_hashes(rows: U64) -> U64:  # pragma: no cover
    out = np.empty(rows.shape[0], dtype=np.uint64)
    for i in range(rows.shape[0]):
        out[i] = _hash(rows[i, 0], rows[i, 1])
    return out


@njit(cache=CACHE, nogil=NOGIL)
def _bloom_entries(bits: U64, entries: U64) -> None:  # pragma: no cover
    """Add a run's keys to the filter from its index entries (in bucket order: a sweep)."""
    for i in range(entries.shape[0]):
        _bloom_add(bits, entries[i])


@njit(cache=CACHE, nogil=NOGIL)
def _bucket_index(rows: U64, shift: int, offsets: U32, entries: U64) -> None:  # pragma: no cover
    """Counting sort of the rows by bucket (`hash >> shift`) into index entries.

    `offsets` (buckets + 1, zeroed) ends as each bucket's first position in `entries`, and
    `entries` as the hash's top 40 bits over the row number (`_ROW_BITS`), bucket by bucket
    (insertion order within one): a probe reads a row only when those 40 bits match.
    """
    n = rows.shape[0]
    s = np.uint64(shift)
    low = np.uint64(_ROW_BITS)
    bucket = np.empty(n, dtype=np.uint32)
    for i in range(n):
        b = np.uint32(_hash(rows[i, 0], rows[i, 1]) >> s)
        bucket[i] = b
        offsets[b + 1] += 1
    for k in range(1, offsets.shape[0]):
        offsets[k] += offsets[k - 1]
    fill = offsets[:-1].copy()
    for i in range(n):
        h = _hash(rows[i, 0], rows[i, 1])
        entries[fill[bucket[i]]] = ((h >> low) << low) | np.uint64(i)
        fill[bucket[i]] += 1


@njit(cache=CACHE, nogil=NOGIL)
def _probe(  # noqa: PLR0917 - arrays in, verdicts out, like the other kernels
    offsets: U32, entries: U64, rows: U64, shift: int, query: U64, verdicts: U8, found: Mask
) -> None:  # pragma: no cover
    """For each query row not `found` yet whose key is in this run: its verdict, found."""
    s = np.uint64(shift)
    low = np.uint64(_ROW_BITS)
    row_mask = (np.uint64(1) << low) - np.uint64(1)
    for i in range(query.shape[0]):
        if found[i]:
            continue
        hi = query[i, 0]
        lo = query[i, 1]
        h = _hash(hi, lo)
        b = h >> s
        for k in range(offsets[b], offsets[b + np.uint64(1)]):
            e = entries[k]
            if (e >> low) != (h >> low):
                continue
            r = e & row_mask
            if rows[r, 0] == hi and rows[r, 1] == lo:
                same = rows[r, 2] == query[i, 2] and rows[r, 3] == query[i, 3]
                same = same and rows[r, 4] == query[i, 4]
                verdicts[i] = 1 if same else 2
                found[i] = True
                break


def _bucket_bits(n: int) -> int:
    """B: a power-of-two bucket count with `_ROWS_PER_BUCKET` to twice that rows a bucket."""
    return max(1, (n // _ROWS_PER_BUCKET).bit_length() - 1)


class _Run:
    """One frozen part in a file: its bucket index, then its rows as the active table held them.

    The index: bucket offsets (buckets + 1 u32, padded to 8 bytes), then one u64 entry a row,
    bucket by bucket: the row number under the top 40 bits of its key's hash
    (`_bucket_index`). The rows follow from the next page on, in insertion order, written
    straight from the table's memory (no sorted copy, no gather). A filter false positive,
    the common probe, reads one offset and one bucket of entries (two pages), not the rows;
    a growing filter is rebuilt from the entries alone (~8 B a scan, cached), not the rows.
    """

    def __init__(self, path: Path, rows: U64, bits: U64) -> None:
        """Write `rows` to a new run file at `path`, adding their keys to the filter `bits`."""
        self.path = path
        self.n = len(rows)
        if self.n > 1 << _ROW_BITS:
            raise ValueError(f"a run holds at most 2^{_ROW_BITS} rows, got {self.n}")
        b = _bucket_bits(self.n)
        self.shift = 64 - b
        self.n_offsets = (1 << b) + 1
        self.entries_at = -(-self.n_offsets * 4 // 8) * 8
        end = self.entries_at + self.n * 8
        self.rows_at = -(-end // _PAGE) * _PAGE  # page-aligned, for direct I/O
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"")
        # the rows go to the disk while this thread indexes them (it only reads them too)
        rows_written = _DirectWrite(tmp, rows, self.rows_at)
        index = np.zeros(self.rows_at, dtype=np.uint8)
        offsets = index[: self.n_offsets * 4].view(np.uint32)
        entries = index[self.entries_at : end].view(np.uint64)
        _bucket_index(rows, self.shift, offsets, entries)
        _bloom_entries(bits, entries)
        with tmp.open("r+b") as f:
            f.write(index.data)
            if not rows_written.wait():
                f.seek(self.rows_at)
                f.write(rows.data)
        tmp.replace(path)

    def add_to(self, bits: U64) -> None:
        """Add this run's keys to a Bloom filter, reading its entries a slice at a time."""
        buf = np.empty(min(self.n, _READ_ENTRIES), dtype=np.uint64)
        with self.path.open("rb") as f:
            f.seek(self.entries_at)
            for lo in range(0, self.n, _READ_ENTRIES):
                part = buf[: min(_READ_ENTRIES, self.n - lo)]
                if f.readinto(part.data.cast("B")) != part.nbytes:
                    raise OSError(f"run file {self.path} is shorter than its {self.n} entries")
                _bloom_entries(bits, part)

    def match(self, query: U64, hashes: U64, verdicts: U8, found: Mask) -> None:
        """For each query row not `found` yet whose key is in this run: its verdict.

        `hashes` are the rows' key hashes. A few rows (the usual filter false positive or
        two) are looked up with a few small reads; more through a memory mapping, whose
        set-up and tear-down (~10 µs) is paid once per run that a group probes.
        """
        if len(query) - np.count_nonzero(found) <= _FEW:
            self._match_few(query, hashes, verdicts, found)
            return
        with self.path.open("rb") as f:
            region = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._match(region, query, verdicts, found)
        finally:
            region.close()  # unmapped: its pages leave this process's memory

    def _match_few(self, query: U64, hashes: U64, verdicts: U8, found: Mask) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for i in np.flatnonzero(~found).tolist():
                h = int(hashes[i])
                start, stop = _OFFSETS.unpack(os.pread(fd, 8, (h >> self.shift) * 4))
                raw = os.pread(fd, (stop - start) * 8, self.entries_at + start * 8)
                for e in struct.unpack(f"<{stop - start}Q", raw):
                    if e >> _ROW_BITS != h >> _ROW_BITS:
                        continue
                    at = self.rows_at + (e & ((1 << _ROW_BITS) - 1)) * _ROW * 8
                    row = _ROW_WORDS.unpack(os.pread(fd, _ROW * 8, at))
                    want = tuple(query[i].tolist())
                    if row[:2] == want[:2]:
                        same = row[2:] == want[2:]
                        verdicts[i] = Verdict.DUPLICATE if same else Verdict.CONFLICT
                        found[i] = True
                        break
        finally:
            os.close(fd)

    def _match(self, region: mmap.mmap, query: U64, verdicts: U8, found: Mask) -> None:
        # a method of its own so that every view of the mapping is gone when it returns
        offsets = np.frombuffer(region, dtype=np.uint32, count=self.n_offsets)
        entries = np.frombuffer(region, dtype=np.uint64, count=self.n, offset=self.entries_at)
        rows = np.frombuffer(region, dtype=np.uint64, count=self.n * _ROW, offset=self.rows_at)
        table = rows.reshape(self.n, _ROW)
        _probe(offsets, entries, table, self.shift, query, verdicts, found)


class _DirectWrite:
    """Write `rows` at byte `at` of `path` bypassing the page cache, in a thread of its own.

    Why: a run's rows (~28 MB at the server's limit) written through the page cache cost
    ~1-2.5 ms of the writer's CPU per MB on a busy or virtualised host (every page newly
    allocated, later written back by the kernel too), the largest part of a freeze. Direct
    I/O hands the table's own pages to the disk (~1 ms of CPU; the disk's time, ~15 ms, is
    spent while the caller indexes the same rows) and leaves no cached copy behind: the
    probes read only the index (written through the cache) and, for real repeats, a few
    rows back from the disk. Needs the rows page-aligned (`storage.dedupe._row_store`) and a
    file system with `O_DIRECT`: `wait` is False otherwise, and the caller writes them as
    usual. The tail under a page goes through the cache.
    """

    def __init__(self, path: Path, rows: U64, at: int) -> None:
        self._body = rows.nbytes // _PAGE * _PAGE
        self._flag = getattr(os, "O_DIRECT", 0)
        self._done = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if not self._flag or self._body == 0 or rows.ctypes.data % _PAGE or at % _PAGE:
            return
        self._args = (path, rows.data.cast("B"), at)
        self._thread = threading.Thread(target=self._run, name="run-file-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        path, view, at = self._args
        try:
            self._done = self._write(path, view, at)
        except BaseException as exc:  # handed to the caller by `wait`
            self._error = exc

    def _write(self, path: Path, view: memoryview, at: int) -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | self._flag)
        except OSError:
            return False
        try:
            done = 0
            while done < self._body:
                done += os.pwrite(fd, view[done : self._body], at + done)
        except OSError:
            return False
        finally:
            os.close(fd)
        with path.open("r+b") as f:
            f.seek(at + self._body)
            f.write(view[self._body :])
        return True

    def wait(self) -> bool:
        """Whether the rows were written (False: not attempted, or the file system refused)."""
        if self._thread is None:
            return False
        self._thread.join()
        del self._args  # the table's memory is the caller's again
        if self._error is not None:
            raise self._error
        return self._done


def _filter_words(design: int) -> int:
    """u64 words of a filter for `design` keys: whole 512-bit blocks, at least one."""
    blocks = max(1, design * _BITS_PER_KEY // (64 * _BLOCK_WORDS))
    return blocks * _BLOCK_WORDS


class SpillingScanIdIndex:
    """`ScanIdIndex` semantics with at most `active_limit` scans in memory (plus ~2 B each)."""

    def __init__(self, spill_dir: Path, *, active_limit: int, capacity: int = 0) -> None:
        if active_limit < 1:
            raise ValueError(f"active_limit must be >= 1, got {active_limit}")
        self._dir = Path(spill_dir) / f"gen-{os.getpid()}-{next(_generation)}"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._limit = min(active_limit, _MAX_ACTIVE)  # 8 M scans, ~600 MB: far above need
        self._active = ScanIdIndex(self._limit)
        self._runs: list[_Run] = []
        self._frozen = 0
        self._design = max(capacity, 4 * self._limit)
        self._bits = _zeroed_slots(_filter_words(self._design))

    def __len__(self) -> int:
        return self._frozen + len(self._active)

    @property
    def runs(self) -> int:
        """Frozen run files so far."""
        return len(self._runs)

    @property
    def nbytes(self) -> int:
        """Bytes in memory: the active table plus the filter."""
        return self._active.nbytes + int(self._bits.nbytes)

    def add(self, scans: ScanArray) -> U8:
        """Insert the new scans; return a `Verdict` per row (repeats within `scans` count too)."""
        if scans.dtype != SCAN_DTYPE:
            raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
        if len(scans) > _MAX_PART:  # in parts, in order: the same verdicts as at once
            parts = [self.add(scans[i : i + _MAX_PART]) for i in range(0, len(scans), _MAX_PART)]
            return np.concatenate(parts)
        if len(scans) == 0:
            return np.zeros(0, dtype=np.uint8)
        if len(self._active) and len(self._active) + len(scans) > self._limit:
            # freeze first: a group added on top of a nearly full table made it reallocate
            # its rows at twice the limit (and copy them) just before the freeze
            self._freeze()
        query = split_rows(scans)
        verdicts = self._add_after_runs(query) if self._runs else self._active.add_rows(query)
        if len(self._active) >= self._limit:
            self._freeze()
        return verdicts

    def _add_after_runs(self, query: U64) -> U8:
        maybe = np.empty(len(query), dtype=np.bool_)
        _bloom(self._bits, query, False, maybe)
        candidates = np.flatnonzero(maybe)
        if len(candidates) == 0:
            return self._active.add_rows(query)
        sub = np.zeros(len(candidates), dtype=np.uint8)
        hit = np.zeros(len(candidates), dtype=np.bool_)
        asked = query[candidates]
        hashes = _key_hashes(asked)
        for run in reversed(self._runs):  # newest first: retries are mostly recent
            run.match(asked, hashes, sub, hit)
            if hit.all():
                break
        if not hit.any():
            return self._active.add_rows(query)
        verdicts = np.zeros(len(query), dtype=np.uint8)
        verdicts[candidates] = sub
        fresh = np.ones(len(query), dtype=np.bool_)
        fresh[candidates[hit]] = False
        where = np.flatnonzero(fresh)
        if len(where):
            verdicts[where] = self._active.add_rows(query[where])
        return verdicts

    def _freeze(self) -> None:
        rows = self._active.rows()
        if self._frozen + len(rows) > self._design:
            self._grow_filter(2 * (self._frozen + len(rows)))
        run = _Run(self._dir / f"run-{len(self._runs):06d}.idx", rows, self._bits)
        self._runs.append(run)
        self._frozen += run.n
        self._active.clear()

    def _grow_filter(self, design: int) -> None:
        self._design = design
        self._bits = _zeroed_slots(_filter_words(design))
        for run in self._runs:
            run.add_to(self._bits)

    def close(self) -> None:
        """Delete this index's run files."""
        self._runs.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


def clear_spill_dir(spill_dir: Path) -> None:
    """Remove every run file under `spill_dir` (they are rebuilt from the log at open)."""
    shutil.rmtree(spill_dir, ignore_errors=True)
