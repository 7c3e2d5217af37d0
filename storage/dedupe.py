"""Exactly-once by `scan_id`: an in-memory hash index of the scans in the hot log.

Why in memory and not one RocksDB key per scan: a per-scan key caps ingest near the measured
~480 k keys/s, while packed batches reach ~4 M scans/s (DESIGN §5). The log itself is the
durable copy of the index: the hot store rebuilds it from every batch at open, and keeps
batches in the log (marked sealed, not deleted) for as long as a retry may arrive.

The index compares the whole record, so a retry with the same content is a DUPLICATE and a
reused `scan_id` with different content is a CONFLICT (a buggy or hostile client). It is an
open-addressing table of 8-byte slots over an append-only row store, probed by a numba
kernel with no per-row Python (see `ScanIdIndex`).
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from enum import IntEnum
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
from llvmlite import binding, ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from storage.jit import CACHE, NOGIL
from storage.records import RECORD_SIZE, SCAN_DTYPE, ScanArray


class Verdict(IntEnum):
    """Per-scan outcome of a hot-store write (a u8 in the verdict arrays)."""

    ACCEPTED = 0
    DUPLICATE = 1
    CONFLICT = 2


_MIN_CAPACITY: Final = 1 << 12
U64 = npt.NDArray[np.uint64]


@njit(cache=CACHE, nogil=NOGIL)
def _hash(hi: np.uint64, lo: np.uint64) -> np.uint64:  # pragma: no cover
    # splitmix64 finaliser: client scan ids may be sequential, so mix before masking.
    x = hi ^ (lo * np.uint64(0x9E3779B97F4A7C15))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


#: a row of the row store: key hi, key lo, then the record's content as 3 words
_ROW: Final = 5
_LOW32: Final = np.uint64(0xFFFFFFFF)
#: keys hashed ahead of the one being inserted (a power of two), their slots prefetched
AHEAD: Final = 16
_PREFETCH: Final = (
    "llvm.prefetch.p0" if binding.llvm_version_info >= (15,) else "llvm.prefetch.p0i8"
)


def _prefetch_typer(typingctx: object, arr: Any, idx: Any) -> object:  # pragma: no cover
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])  # type: ignore[no-untyped-call]
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFETCH)  # type: ignore[no-untyped-call]
        # write intent, high locality, data cache
        flags = [ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(fn, [builder.bitcast(ptr, i8p), *flags])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


#: `prefetch(arr, i)` in a kernel asks the CPU to fetch `arr[i]`'s cache line for writing
#: (LLVM's prefetch: no fault, no effect on results). Why: every insert or filter probe
#: reads one random word of a table far larger than the caches; one at a time, each waits a
#: whole memory latency, while fetches issued `AHEAD` keys early overlap (measured: inserts
#: ~34 -> ~19 ns a key, the Bloom filter's adds 2-2.5x).
prefetch = cast(Callable[[Any, Any], None], intrinsic(_prefetch_typer))


@njit(cache=CACHE, nogil=NOGIL)
def _insert(
    slots: U64, rows: U64, n_rows: int, query: U64, verdicts: npt.NDArray[np.uint8]
) -> int:  # pragma: no cover
    """Probe/insert each query row; write its verdict; return the new row count.

    A slot is `tag << 32 | (row + 1)` (0 = free), `tag` the hash's high half: a probe reads
    the row store only when the tag matches, i.e. for real repeats and ~1 in 4 billion
    others. New rows are appended to `rows`, which the caller sized for all of `query`.
    """
    mask = np.uint64(slots.shape[0] - 1)
    n = n_rows
    m = query.shape[0]
    ahead = np.empty(AHEAD, dtype=np.uint64)  # hashes of the next keys, slots prefetched
    for i in range(min(AHEAD, m)):
        ahead[i] = _hash(query[i, 0], query[i, 1])
        prefetch(slots, ahead[i] & mask)
    for i in range(m):
        hi = query[i, 0]
        lo = query[i, 1]
        x = ahead[i % AHEAD]
        if i + AHEAD < m:
            y = _hash(query[i + AHEAD, 0], query[i + AHEAD, 1])
            ahead[i % AHEAD] = y
            prefetch(slots, y & mask)
        tag = x >> np.uint64(32)
        s = x & mask
        while True:
            v = slots[s]
            if v == 0:
                for j in range(5):
                    rows[n, j] = query[i, j]
                n += 1
                slots[s] = (tag << np.uint64(32)) | np.uint64(n)
                verdicts[i] = 0
                break
            if (v >> np.uint64(32)) == tag:
                r = np.int64(v & _LOW32) - 1
                if rows[r, 0] == hi and rows[r, 1] == lo:
                    same = rows[r, 2] == query[i, 2] and rows[r, 3] == query[i, 3]
                    same = same and rows[r, 4] == query[i, 4]
                    verdicts[i] = 1 if same else 2
                    break
            s = (s + np.uint64(1)) & mask
    return n


@njit(cache=CACHE, nogil=NOGIL)
def _rehash(rows: U64, n_rows: int, slots: U64) -> None:  # pragma: no cover
    """Point the empty `slots` at rows 0..n_rows (keys are unique already)."""
    mask = np.uint64(slots.shape[0] - 1)
    for r in range(n_rows):
        x = _hash(rows[r, 0], rows[r, 1])
        s = x & mask
        while slots[s] != 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = ((x >> np.uint64(32)) << np.uint64(32)) | np.uint64(r + 1)


def _zeroed_slots(cap: int) -> U64:
    """`cap` zeroed slots on anonymous memory, asking for transparent huge pages.

    Why not `np.zeros`: the probes are random, so a large table on 4 KiB pages pays one page
    fault per page on first touch and a TLB miss on most probes; 2 MiB pages (when the
    kernel has them) cut both.
    """
    nbytes = cap * 8
    if nbytes < (4 << 20):
        return np.zeros(cap, dtype=np.uint64)
    region = mmap.mmap(-1, nbytes)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        region.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(region, dtype=np.uint64)


def _row_store(n: int) -> U64:
    """Room for `n` rows, touched only as rows are appended; large ones page-aligned.

    Large stores come from `_zeroed_slots` (anonymous memory, huge pages asked for), so
    their start is page-aligned: the spilling index writes a frozen table's rows to its run
    file with direct I/O, which needs that (`storage.dedupe_spill`).
    """
    return _zeroed_slots(n * _ROW).reshape(n, _ROW)


@njit(cache=CACHE, nogil=NOGIL)
def _split(words: npt.NDArray[np.uint32], rows: U64) -> None:  # pragma: no cover
    for i in range(words.shape[0]):
        for j in range(4):
            high = np.uint64(words[i, 2 * j + 1]) << np.uint64(32)
            rows[i, j] = np.uint64(words[i, 2 * j]) | high
        rows[i, 4] = np.uint64(words[i, 8])


def split_rows(scans: ScanArray) -> U64:
    """(n, 5) rows of a scan array (key words, content words), copied out of the records.

    One kernel pass over the records read as 9 little-endian u32 words each (36 bytes): the
    numpy version (zeroed array, two strided copies) was ~6 ns a scan, on every add.
    """
    words = np.ascontiguousarray(scans).view(np.uint32).reshape(-1, RECORD_SIZE // 4)
    rows = np.empty((len(words), _ROW), dtype=np.uint64)
    _split(words, rows)
    return rows


class ScanIdIndex:
    """The set of scans seen, keyed by `scan_id`, with exact content comparison.

    Two arrays: 8-byte slots (load factor <= 1/2) pointing into a row store that new scans
    are appended to. An insert touches one random 8-byte slot and appends one row
    sequentially, instead of writing a random 40-byte slot: fewer cache and TLB misses and
    page faults, and ~56-72 bytes per scan instead of 80-160.

    Not thread-safe: the hot store's single writer thread owns it.
    """

    def __init__(self, capacity: int = _MIN_CAPACITY) -> None:
        self._capacity = capacity
        self._allocate()

    def _allocate(self) -> None:
        cap = _MIN_CAPACITY
        while cap < 2 * self._capacity:
            cap *= 2
        self._slots = _zeroed_slots(cap)
        self._rows = _row_store(max(self._capacity, _MIN_CAPACITY))
        self._count = 0
        self._initial = (len(self._rows), cap)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes of the slots plus the rows in use (for metrics)."""
        return int(self._slots.nbytes + self._count * _ROW * 8)

    def rows(self) -> U64:
        """The (n, 5) rows in use (key words, content words), in insertion order.

        A view, valid until the next `add` or `clear` (which reuse the same memory).
        """
        return self._rows[: self._count]

    def close(self) -> None:
        """Nothing to release (the spilling index deletes its files here)."""

    def clear(self) -> None:
        """Forget every scan, keeping the memory already touched (zeroed slots, reused rows).

        Why not a new table: the spilling index empties its table each time it freezes it,
        and a fresh table pays a page fault (and the kernel's page zeroing) on the first touch
        of each page of its rows and slots, which made inserts ~1.6x slower. A table that grew
        past its initial size is reallocated at that size instead, so `clear` never keeps more
        than a new table would grow to.
        """
        if (len(self._rows), len(self._slots)) != self._initial:
            self._allocate()
            return
        self._slots.fill(0)
        self._count = 0

    def _grow(self, need: int) -> None:
        if need > len(self._rows):
            rows = _row_store(max(need, 2 * len(self._rows)))
            rows[: self._count] = self._rows[: self._count]
            self._rows = rows
        cap = len(self._slots)
        if 2 * need <= cap:
            return
        while 2 * need > cap:
            cap *= 2
        slots = _zeroed_slots(cap)
        _rehash(self._rows, self._count, slots)
        self._slots = slots

    def add(self, scans: ScanArray) -> npt.NDArray[np.uint8]:
        """Insert the new scans; return a `Verdict` per row (repeats within `scans` count too)."""
        if scans.dtype != SCAN_DTYPE:
            raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
        return self.add_rows(split_rows(scans))

    def add_rows(self, query: U64) -> npt.NDArray[np.uint8]:
        """`add` for rows already split by `split_rows` (contiguous (n, 5) u64)."""
        verdicts = np.zeros(len(query), dtype=np.uint8)
        if len(query) == 0:
            return verdicts
        self._grow(self._count + len(query))
        self._count = int(_insert(self._slots, self._rows, self._count, query, verdicts))
        return verdicts
